#include "fieldmesh/enroll.h"

#include <string.h>

#include "fieldmesh/error.h"

static const char *const role_names[] = {"member", "leader", "gateway", "admin", "officer"};

const char *fm_role_name(fm_role r) {
  return (unsigned)r <= FM_ROLE_OFFICER ? role_names[r] : "unknown";
}

int fm_role_parse(const char *s, fm_role *out) {
  for (int i = 0; i <= FM_ROLE_OFFICER; i++)
    if (strcmp(s, role_names[i]) == 0) {
      *out = (fm_role)i;
      return 0;
    }
  return FM_ERR_INVAL;
}

int fm_enroll_body(fm_buf *out, const fm_enrollment *en) {
  fm_wr w;
  if (!en->name[0] || !en->team[0] || (unsigned)en->role > FM_ROLE_OFFICER ||
      en->nvillages < 0 || en->nvillages > FM_VILLAGES_MAX || en->expires < 0)
    return FM_ERR_INVAL;
  fm_wr_init(&w, out);
  fm_wr_map(&w, 7);
  fm_wr_cstr(&w, "device");
  fm_wr_bin(&w, en->device, FM_KEY_LEN);
  fm_wr_cstr(&w, "name");
  fm_wr_cstr(&w, en->name);
  fm_wr_cstr(&w, "team");
  fm_wr_cstr(&w, en->team);
  fm_wr_cstr(&w, "role");
  fm_wr_cstr(&w, fm_role_name(en->role));
  fm_wr_cstr(&w, "villages");
  fm_wr_array(&w, (uint32_t)en->nvillages);
  for (int i = 0; i < en->nvillages; i++) fm_wr_cstr(&w, en->villages[i]);
  fm_wr_cstr(&w, "commune");
  fm_wr_cstr(&w, en->commune);
  fm_wr_cstr(&w, "expires");
  fm_wr_uint(&w, (uint64_t)en->expires);
  return fm_buf_error(out);
}

/* Copies a string field into a fixed, NUL-terminated buffer. */
static int copy_str(const uint8_t *body, size_t len, const char *key,
                    char *dst, size_t cap) {
  const char *s;
  size_t n;
  if (fm_body_str(body, len, key, &s, &n) < 0) return FM_ERR_MALFORMED;
  if (n >= cap || memchr(s, 0, n)) return FM_ERR_MALFORMED;
  memcpy(dst, s, n);
  dst[n] = 0;
  return 0;
}

static int read_villages(const uint8_t *body, size_t len, fm_enrollment *en) {
  fm_rd v;
  uint32_t n;
  if (fm_body_find(body, len, "villages", &v) < 0) return FM_ERR_MALFORMED;
  if (fm_rd_array(&v, &n) < 0 || n > FM_VILLAGES_MAX) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    const char *s;
    size_t sn;
    if (fm_rd_str(&v, &s, &sn) < 0 || sn >= FM_NAME_MAX || memchr(s, 0, sn))
      return FM_ERR_MALFORMED;
    memcpy(en->villages[i], s, sn);
    en->villages[i][sn] = 0;
  }
  en->nvillages = (int)n;
  return 0;
}

int fm_enroll_parse(const fm_entry *e, fm_enrollment *out) {
  fm_enrollment en;
  char role[16];
  uint64_t expires;
  const uint8_t *b = e->body;
  size_t n = e->body_len;
  if (!fm_entry_is(e, FM_KIND_ENROLL)) return FM_ERR_MALFORMED;
  memset(&en, 0, sizeof en);
  if (fm_body_key(b, n, "device", en.device) < 0 ||
      copy_str(b, n, "name", en.name, sizeof en.name) < 0 ||
      copy_str(b, n, "team", en.team, sizeof en.team) < 0 ||
      copy_str(b, n, "role", role, sizeof role) < 0 ||
      fm_role_parse(role, &en.role) < 0 ||
      copy_str(b, n, "commune", en.commune, sizeof en.commune) < 0 ||
      read_villages(b, n, &en) < 0 ||
      fm_body_uint(b, n, "expires", &expires) < 0 || expires > INT64_MAX)
    return FM_ERR_MALFORMED;
  en.expires = (fm_time)expires;
  *out = en;
  return 0;
}

int fm_enroll_valid_at(const fm_enrollment *en, fm_time now) {
  return en->expires == 0 || now <= en->expires;
}

int fm_enroll_has_village(const fm_enrollment *en, const char *village, size_t n) {
  for (int i = 0; i < en->nvillages; i++)
    if (strlen(en->villages[i]) == n && memcmp(en->villages[i], village, n) == 0)
      return 1;
  return 0;
}

int fm_revoke_body(fm_buf *out, const uint8_t device[static FM_KEY_LEN],
                   uint64_t after_seq) {
  fm_wr w;
  fm_wr_init(&w, out);
  fm_wr_map(&w, 2);
  fm_wr_cstr(&w, "device");
  fm_wr_bin(&w, device, FM_KEY_LEN);
  fm_wr_cstr(&w, "after_seq");
  fm_wr_uint(&w, after_seq);
  return fm_buf_error(out);
}

int fm_revoke_parse(const fm_entry *e, uint8_t device[static FM_KEY_LEN],
                    uint64_t *after_seq) {
  uint8_t d[FM_KEY_LEN];
  uint64_t s;
  if (!fm_entry_is(e, FM_KIND_REVOKE)) return FM_ERR_MALFORMED;
  if (fm_body_key(e->body, e->body_len, "device", d) < 0 ||
      fm_body_uint(e->body, e->body_len, "after_seq", &s) < 0)
    return FM_ERR_MALFORMED;
  memcpy(device, d, FM_KEY_LEN);
  *after_seq = s;
  return 0;
}
