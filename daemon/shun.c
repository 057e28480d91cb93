#include "shun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "fieldmesh/error.h"

/* The address of |sa| as a key; 0 for an unknown caller, and for a
 * loopback one unless |loopback| (the table's count_loopback). */
static int key_of(const struct sockaddr *sa, int loopback, int *family, uint8_t ip[16]) {
  memset(ip, 0, 16);
  *family = sa->sa_family;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    memcpy(ip, &in->sin_addr, 4);
    return loopback || ip[0] != 127;
  }
  if (sa->sa_family != AF_INET6) return 0;
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
    /* A dual-stack listener sees IPv4 callers as ::ffff:a.b.c.d: the same
     * caller as over IPv4. */
    *family = AF_INET;
    memcpy(ip, in6->sin6_addr.s6_addr + 12, 4);
    return loopback || ip[0] != 127;
  }
  memcpy(ip, &in6->sin6_addr, 16);
  return loopback || !IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

int fmd_shun_counts(int code) {
  switch (code) {
  case FM_ERR_MALFORMED:
  case FM_ERR_BADSIG:
  case FM_ERR_TOOBIG: return 1;
  default: return fm_err_is_fatal(code);
  }
}

static const char *ip_text(int family, const uint8_t ip[16], char *out, size_t cap) {
  if (!inet_ntop(family, ip, out, (socklen_t)cap)) snprintf(out, cap, "?");
  return out;
}

const char *fmd_shun_ip(const struct sockaddr *sa, char *out, size_t cap) {
  int family;
  uint8_t ip[16];
  key_of(sa, 1, &family, ip);
  if (family != AF_INET && family != AF_INET6) {
    snprintf(out, cap, "?");
    return out;
  }
  return ip_text(family, ip, out, cap);
}

static fmd_shun_source *find(const fmd_shun *t, const struct sockaddr *sa) {
  int family;
  uint8_t ip[16];
  if (!key_of(sa, t->count_loopback, &family, ip)) return NULL;
  for (size_t i = 0; i < FMD_SHUN_SOURCES; i++) {
    const fmd_shun_source *s = &t->src[i];
    if (s->used && s->family == family && !memcmp(s->ip, ip, 16))
      return (fmd_shun_source *)s;
  }
  return NULL;
}

/* The slot of |sa|, made when new; NULL for loopback. */
static fmd_shun_source *slot_for(fmd_shun *t, const struct sockaddr *sa, fm_time now) {
  int family;
  uint8_t ip[16];
  fmd_shun_source *s = find(t, sa), *room = NULL;
  if (s || !key_of(sa, t->count_loopback, &family, ip)) return s;
  for (size_t i = 0; i < FMD_SHUN_SOURCES; i++) {
    fmd_shun_source *o = &t->src[i];
    if (!o->used) {
      room = o;
      break;
    }
    /* Rather one that is not ignored now, then the one that failed
     * longest ago. */
    int o_free = o->until <= now, r_free = room && room->until <= now;
    if (!room || (o_free && !r_free) ||
        (o_free == r_free && o->last_failure < room->last_failure))
      room = o;
  }
  memset(room, 0, sizeof *room);
  room->used = 1;
  room->family = family;
  memcpy(room->ip, ip, 16);
  return room;
}

int fmd_shun_refuses(fmd_shun *t, const struct sockaddr *sa, fm_time now) {
  fmd_shun_source *s = find(t, sa);
  if (!s || s->until <= now) return 0;
  s->refused++;
  t->refused++;
  return 1;
}

fm_time fmd_shun_left(const fmd_shun *t, const struct sockaddr *sa, fm_time now) {
  const fmd_shun_source *s = find(t, sa);
  return s && s->until > now ? s->until - now : 0;
}

fm_time fmd_shun_failed(fmd_shun *t, const struct sockaddr *sa, const char *reason,
                        fm_time now, uint32_t *failures) {
  fmd_shun_source *s = slot_for(t, sa, now);
  if (failures) *failures = 0;
  if (!s) return 0;
  if (s->failures && now - s->last_failure > FMD_SHUN_WINDOW_MS) s->failures = 0;
  s->failures++;
  s->last_failure = now;
  snprintf(s->reason, sizeof s->reason, "%s", reason);
  if (failures) *failures = s->failures;
  if (s->failures <= FMD_SHUN_FREE) return 0;
  uint32_t doublings = s->failures - FMD_SHUN_FREE - 1;
  fm_time span = FMD_SHUN_MAX_MS;
  if (doublings < 16) {
    span = (fm_time)FMD_SHUN_FIRST_MS << doublings;
    if (span > FMD_SHUN_MAX_MS) span = FMD_SHUN_MAX_MS;
  }
  s->until = now + span;
  return span;
}

void fmd_shun_admitted(fmd_shun *t, const struct sockaddr *sa) {
  fmd_shun_source *s = find(t, sa);
  if (s) memset(s, 0, sizeof *s);
}

size_t fmd_shun_report(const fmd_shun *t, fm_time now, fm_time wall, fm_control_peer *out,
                       size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < FMD_SHUN_SOURCES; i++) {
    const fmd_shun_source *s = &t->src[i];
    if (!s->used || s->until <= now) continue;
    if (n < cap) {
      fm_control_peer *p = &out[n];
      memset(p, 0, sizeof *p);
      ip_text(s->family, s->ip, p->addr, sizeof p->addr);
      snprintf(p->origin, sizeof p->origin, "incoming");
      snprintf(p->state, sizeof p->state, "ignored");
      snprintf(p->last_error, sizeof p->last_error, "%s", s->reason);
      p->failures = s->failures;
      p->next_attempt = wall + (s->until - now);
    }
    n++;
  }
  return n;
}
