/* The commune's vocabularies.  See include/fieldmesh/vocab.h. */
#include "fieldmesh/vocab.h"

#include <stdio.h>
#include <string.h>

#include "fieldmesh/closest.h"
#include "fieldmesh/error.h"
#include "fieldmesh/text.h"

static const char *const LIST_NAMES[FM_VOCAB_LISTS] = {"village", "place", "team"};
static const char *const OP_NAMES[3] = {"add", "rename", "retire"};

const char *fm_vocab_list_name(fm_vocab_list l) {
  return (unsigned)l < FM_VOCAB_LISTS ? LIST_NAMES[l] : NULL;
}

int fm_vocab_list_parse(const char *s, fm_vocab_list *out) {
  for (int i = 0; i < FM_VOCAB_LISTS; i++)
    if (!strcmp(s, LIST_NAMES[i])) {
      *out = (fm_vocab_list)i;
      return 0;
    }
  return FM_ERR_INVAL;
}

const char *fm_vocab_op_name(fm_vocab_op op) {
  return (unsigned)op <= FM_VOCAB_RETIRE ? OP_NAMES[op] : NULL;
}

/* A name a vocab entry may carry: 1 to FM_NAME_MAX - 1 bytes without
 * U+0000 (the entry's decoder checked that strings are UTF-8). */
static int name_ok(const char *s, size_t n) {
  return n > 0 && n < FM_NAME_MAX && !memchr(s, 0, n);
}

int fm_vocab_body(fm_buf *out, fm_vocab_list l, fm_vocab_op op, const char *name,
                  const char *to) {
  fm_wr w;
  int rename = op == FM_VOCAB_RENAME;
  if (!fm_vocab_list_name(l) || !fm_vocab_op_name(op) || !name ||
      !name_ok(name, strlen(name)) || !fm_text_is_norm(name, strlen(name)) ||
      (rename && (!to || !name_ok(to, strlen(to)) || !fm_text_is_norm(to, strlen(to)))))
    return FM_ERR_INVAL;
  fm_wr_init(&w, out);
  fm_wr_map(&w, rename ? 4 : 3);
  fm_wr_cstr(&w, "list");
  fm_wr_cstr(&w, LIST_NAMES[l]);
  fm_wr_cstr(&w, "op");
  fm_wr_cstr(&w, OP_NAMES[op]);
  fm_wr_cstr(&w, "name");
  fm_wr_cstr(&w, name);
  if (rename) {
    fm_wr_cstr(&w, "to");
    fm_wr_cstr(&w, to);
  }
  return fm_buf_error(out);
}

/* A str field of |e|'s body that is a name, into |dst|. */
static int read_name(const fm_entry *e, const char *key, char dst[FM_NAME_MAX]) {
  const char *s;
  size_t n;
  if (fm_body_str(e->body, e->body_len, key, &s, &n) < 0 || !name_ok(s, n))
    return FM_ERR_MALFORMED;
  memcpy(dst, s, n);
  dst[n] = 0;
  return 0;
}

/* A str field of |e|'s body that is one of |words| (|nwords|). */
static int read_word(const fm_entry *e, const char *key, const char *const *words,
                     int nwords) {
  const char *s;
  size_t n;
  if (fm_body_str(e->body, e->body_len, key, &s, &n) < 0) return FM_ERR_MALFORMED;
  for (int i = 0; i < nwords; i++)
    if (strlen(words[i]) == n && !memcmp(words[i], s, n)) return i;
  return FM_ERR_MALFORMED;
}

int fm_vocab_parse(const fm_entry *e, fm_vocab_list *l, fm_vocab_op *op, char *name,
                   char *to) {
  char nm[FM_NAME_MAX], t[FM_NAME_MAX] = "";
  int li, oi;
  if (!fm_entry_is(e, FM_KIND_VOCAB)) return FM_ERR_MALFORMED;
  if ((li = read_word(e, "list", LIST_NAMES, FM_VOCAB_LISTS)) < 0 ||
      (oi = read_word(e, "op", OP_NAMES, 3)) < 0 || read_name(e, "name", nm) < 0 ||
      (oi == FM_VOCAB_RENAME && read_name(e, "to", t) < 0))
    return FM_ERR_MALFORMED;
  *l = (fm_vocab_list)li;
  *op = (fm_vocab_op)oi;
  memcpy(name, nm, sizeof nm);
  memcpy(to, t, sizeof t);
  return 0;
}

void fm_vocab_init(fm_vocab *v) { memset(v, 0, sizeof *v); }

/* The folded key of |s| (|n| bytes) into |key|, cut on a character
 * boundary to fit; "" when |s| is not UTF-8. */
static void fold_into(const char *s, size_t n, char key[FM_NAME_MAX]) {
  fm_buf b;
  fm_buf_init(&b, FM_ENTRY_MAX);
  size_t k = 0;
  if (fm_text_fold(&b, s, n) == 0 && b.p) {
    k = b.len < FM_NAME_MAX - 1 ? b.len : FM_NAME_MAX - 1;
    while (k < b.len && k > 0 && (b.p[k] & 0xc0) == 0x80) k--;
    memcpy(key, b.p, k);
  }
  key[k] = 0;
  fm_buf_free(&b);
}

/* The name of |set| whose current key is |key|, or -1. */
static int find_current(const fm_vocab_set *set, const char *key) {
  for (int i = 0; i < set->n; i++)
    if (!strcmp(set->names[i].key, key)) return i;
  return -1;
}

/* Keeps |old| as a former spelling of name |of| (nothing past capacity,
 * nor a spelling that folds like the current one). */
static void keep_former(fm_vocab_set *set, int of, const char *old) {
  char key[FM_NAME_MAX];
  fold_into(old, strlen(old), key);
  if (!strcmp(key, set->names[of].key) || set->nformer >= FM_VOCAB_FORMER) return;
  fm_vocab_former *f = &set->former[set->nformer++];
  memcpy(f->key, key, sizeof key);
  snprintf(f->name, sizeof f->name, "%s", old);
  f->of = of;
}

/* Gives name |i| the spelling |name| (its key |key|): a former spelling
 * of it that folds alike is its name again, not a former one. */
static void respell(fm_vocab_set *set, int i, const char *name, const char *key) {
  char old[FM_NAME_MAX];
  int k = 0;
  for (int j = 0; j < set->nformer; j++)
    if (set->former[j].of != i || strcmp(set->former[j].key, key)) set->former[k++] = set->former[j];
  set->nformer = k;
  memcpy(old, set->names[i].name, sizeof old);
  snprintf(set->names[i].name, FM_NAME_MAX, "%s", name);
  snprintf(set->names[i].key, FM_NAME_MAX, "%s", key);
  if (strcmp(old, name)) keep_former(set, i, old);
}

static void apply_add(fm_vocab_set *set, const char *name, const char *key) {
  int i = find_current(set, key);
  if (i >= 0) {
    set->names[i].retired = 0;
    respell(set, i, name, key);
    return;
  }
  if (set->n >= FM_VOCAB_NAMES) return;
  fm_vocab_name *w = &set->names[set->n++];
  snprintf(w->name, sizeof w->name, "%s", name);
  snprintf(w->key, sizeof w->key, "%s", key);
  w->retired = 0;
}

void fm_vocab_apply(fm_vocab *v, const fm_entry *e) {
  fm_vocab_list l;
  fm_vocab_op op;
  char name[FM_NAME_MAX], to[FM_NAME_MAX], key[FM_NAME_MAX], tokey[FM_NAME_MAX];
  if (fm_vocab_parse(e, &l, &op, name, to) < 0) return;
  fm_vocab_set *set = &v->list[l];
  fold_into(name, strlen(name), key);
  if (!key[0]) return;
  if (op == FM_VOCAB_ADD) {
    apply_add(set, name, key);
    return;
  }
  int i = find_current(set, key);
  if (i < 0) return;
  if (op == FM_VOCAB_RETIRE) {
    set->names[i].retired = 1;
    return;
  }
  fold_into(to, strlen(to), tokey);
  int other = find_current(set, tokey);
  if (!tokey[0] || (other >= 0 && other != i)) return;
  respell(set, i, to, tokey);
}

int fm_vocab_active(const fm_vocab *v, fm_vocab_list l) {
  int k = 0;
  if ((unsigned)l >= FM_VOCAB_LISTS) return 0;
  for (int i = 0; i < v->list[l].n; i++) k += !v->list[l].names[i].retired;
  return k;
}

fm_vocab_match fm_vocab_find(const fm_vocab *v, fm_vocab_list l, const char *s, size_t n,
                             const char **name) {
  char key[FM_NAME_MAX];
  if ((unsigned)l >= FM_VOCAB_LISTS) return FM_VOCAB_NONE;
  const fm_vocab_set *set = &v->list[l];
  if (!set->n) return FM_VOCAB_NONE;
  fold_into(s, n, key);
  if (!key[0]) return FM_VOCAB_NONE;
  int i = find_current(set, key);
  if (i >= 0) {
    if (name) *name = set->names[i].name;
    return set->names[i].retired ? FM_VOCAB_RETIRED : FM_VOCAB_CURRENT;
  }
  for (int k = set->nformer - 1; k >= 0; k--)
    if (!strcmp(set->former[k].key, key)) {
      if (name) *name = set->names[set->former[k].of].name;
      return FM_VOCAB_FORMER_OF;
    }
  return FM_VOCAB_NONE;
}

const char *fm_vocab_resolve(const fm_vocab *v, fm_vocab_list l, const char *s, size_t n) {
  const char *name = NULL;
  return fm_vocab_find(v, l, s, n, &name) == FM_VOCAB_NONE ? NULL : name;
}

const char *fm_vocab_closest(const fm_vocab *v, fm_vocab_list l, const char *s, size_t n) {
  const char *keys[FM_VOCAB_NAMES];
  int of[FM_VOCAB_NAMES], k = 0;
  char key[FM_NAME_MAX];
  if ((unsigned)l >= FM_VOCAB_LISTS) return NULL;
  const fm_vocab_set *set = &v->list[l];
  for (int i = 0; i < set->n; i++)
    if (!set->names[i].retired) {
      of[k] = i;
      keys[k++] = set->names[i].key;
    }
  fold_into(s, n, key);
  const char *pick = fm_closest(key, keys, (size_t)k);
  for (int i = 0; pick && i < k; i++)
    if (keys[i] == pick) return set->names[of[i]].name;
  return NULL;
}
