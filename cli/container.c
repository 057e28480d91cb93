#include "container.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "args.h"
#include "fieldmesh/error.h"
#include "fieldmesh/zpack.h"

const char *fmc_container_kind(const char *magic) {
  if (!strcmp(magic, FM_BUNDLE_MAGIC)) return "bundle";
  if (!strcmp(magic, FM_VECTOR_MAGIC)) return "vector file";
  if (!strcmp(magic, FM_JOIN_MAGIC)) return "join file";
  return "file";
}

/* What to do with a file of the wrong kind. */
static const char *use_of(const char *magic) {
  if (!strcmp(magic, FM_BUNDLE_MAGIC)) return "import it with `fieldmesh bundle import FILE`";
  if (!strcmp(magic, FM_VECTOR_MAGIC)) return "use it with `fieldmesh bundle export --for FILE -o OUT`";
  return "use it with `fieldmesh join FILE` on the laptop it was made for";
}

static int read_error(fmc_ctx *c, const char *path, const char *kind, int rv) {
  switch (rv) {
  case FM_ERR_NOTFOUND:
    return fmc_fail(c, "%s: no such file: check the path", path);
  case FM_ERR_CHECKSUM:
    return fmc_fail(c, "%s is damaged (checksum does not match): refused whole, "
                       "nothing changed; copy the %s again", path, kind);
  case FM_ERR_TRUNCATED:
    return fmc_fail(c, "%s is truncated (the file ends early): refused whole, nothing "
                       "changed; copy the %s again and let the copy finish", path, kind);
  case FM_ERR_NOTREG: {
    char what[32];   /* "bundle file", "vector file", "join file" */
    snprintf(what, sizeof what, "%s%s", kind, strstr(kind, "file") ? "" : " file");
    return fmc_not_regular(c, path, what);
  }
  case FM_ERR_TOOBIG:
    return fmc_fail(c, "%s is over the 2 GiB limit: refused", path);
  case FM_ERR_VERSION:
    return fmc_fail(c, "%s is a %s of another fieldmesh release (another format "
                       "version): refused, nothing changed; install the same release on "
                       "both laptops, or have the newer one write an older format "
                       "(`bundle export --format`)", path, kind);
  case FM_ERR_BOMB:
    return fmc_fail(c, "%s would unpack to more than a %s may hold (its compressed "
                       "records claim over %d times their size, or over 2 GiB): refused, "
                       "nothing changed", path, kind, FM_ZPACK_SECTION_RATIO);
  case FM_ERR_MALFORMED:
    return fmc_fail(c, "%s is not a fieldmesh %s (its content does not decode): refused",
                    path, kind);
  default:
    return fmc_fail(c, "cannot read %s: %s", path, fm_strerror(rv));
  }
}

int fmc_container_read(fmc_ctx *c, const char *path, const char *magic, fm_bundle *b) {
  const char *kind = fmc_container_kind(magic);
  int rv = fm_bundle_read(path, b);
  if (rv < 0) return read_error(c, path, kind, rv);
  if (strcmp(b->magic, magic) != 0) {
    rv = fmc_fail(c, "%s is a %s, not a %s: %s", path, fmc_container_kind(b->magic),
                  kind, use_of(b->magic));
    fm_bundle_free(b);
    return rv;
  }
  return 0;
}

int fmc_container_commune(fmc_ctx *c, const char *path, const fm_bundle *b) {
  uint8_t auth[FM_KEY_LEN];
  char commune[FM_NAME_MAX], a1[16], a2[16];
  int rv = fm_store_authority(c->store, auth, commune);
  if (rv == FM_ERR_NOTFOUND)
    return fmc_fail(c, "this laptop has not joined a commune yet: run `fieldmesh join "
                       "FILE` with its join file first");
  if (rv < 0) return fmc_fail(c, "cannot read the store: %s", fm_strerror(rv));
  if (sodium_memcmp(auth, b->authority, FM_KEY_LEN) != 0)
    return fmc_fail(c, "%s comes from another commune (%s, authority %s…), this laptop "
                       "belongs to %s (authority %s…): refused, nothing changed",
                    path, b->commune, fmc_short_id(b->authority, a1), commune,
                    fmc_short_id(auth, a2));
  return 0;
}
