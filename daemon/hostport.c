#include "hostport.h"

#include <stdio.h>
#include <string.h>

#include <uv.h>

static int parse_port(const char *s, uint16_t *out) {
  unsigned long v = 0;
  if (!*s || strlen(s) > 5) return -1;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (unsigned long)(*p - '0');
  }
  if (v == 0 || v > 65535) return -1;
  *out = (uint16_t)v;
  return 0;
}

/* Letters, digits, '.', '-' and '_': a DNS name or an IPv4 address. */
static int name_ok(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '.' || ch == '-' || ch == '_'))
      return 0;
  }
  return 1;
}

int fmd_hostport_parse(const char *s, fmd_hostport *out, char *why, size_t cap) {
  fmd_hostport hp;
  const char *host = s, *colon;
  size_t hn;
  memset(&hp, 0, sizeof hp);
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':') {
      snprintf(why, cap, "an IPv6 address goes in brackets: [::1]:7411");
      return -1;
    }
    host = s + 1;
    hn = (size_t)(close - host);
    colon = close + 1;
    struct in6_addr a6;
    char tmp[FM_CONTROL_ADDR_MAX];
    if (hn == 0 || hn >= sizeof tmp) goto bad_host;
    memcpy(tmp, host, hn);
    tmp[hn] = 0;
    if (uv_inet_pton(AF_INET6, tmp, &a6) != 0) goto bad_host;
  } else {
    colon = strrchr(s, ':');
    if (!colon) {
      snprintf(why, cap, "the port is missing: give HOST:PORT, e.g. 192.168.1.20:7411");
      return -1;
    }
    hn = (size_t)(colon - s);
    if (!name_ok(s, hn)) goto bad_host;
  }
  if (hn >= sizeof hp.host) goto bad_host;
  memcpy(hp.host, host, hn);
  if (parse_port(colon + 1, &hp.port) < 0) {
    snprintf(why, cap, "the port must be a number from 1 to 65535");
    return -1;
  }
  *out = hp;
  return 0;
bad_host:
  snprintf(why, cap, "the host must be a name or an IP address, e.g. 192.168.1.20:7411");
  return -1;
}

int fmd_hostport_numeric(const fmd_hostport *hp, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (uv_ip4_addr(hp->host, hp->port, (struct sockaddr_in *)out) == 0) return 0;
  if (strchr(hp->host, ':') && uv_ip6_addr(hp->host, hp->port, (struct sockaddr_in6 *)out) == 0)
    return 0;
  return -1;
}

void fmd_hostport_format(const struct sockaddr *sa, char *out, size_t cap) {
  char ip[64] = "?";
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    uv_ip4_name(in, ip, sizeof ip);
    snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(in6, ip, sizeof ip);
    snprintf(out, cap, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
  } else {
    snprintf(out, cap, "?");
  }
}
