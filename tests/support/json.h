/* A small JSON reader (RFC 8259) for the test vectors in tests/vectors/.
 *
 * Test-only code: it parses a whole document into a tree that the caller
 * owns and frees with json_free().  Every accessor takes NULL or a value of
 * the wrong type and answers "nothing" (NULL, 0, NaN or -1), so lookups can
 * be chained and checked once at the end:
 *
 *   json *doc = json_load_file(FM_VECTORS_DIR "/blake2b-kat.json");
 *   const json *v = json_at(doc, 0);
 *   uint8_t out[64]; size_t n;
 *   assert_int_equal(json_hex(json_get(v, "out"), out, sizeof out, &n), 0);
 *
 * Pointers returned by accessors point into the tree: valid until
 * json_free() of its root.
 *
 * Limits: nesting depth JSON_MAX_DEPTH.  Strings are decoded (escapes,
 * \uXXXX and surrogate pairs to UTF-8); raw UTF-8 in the input is copied
 * as it is, not validated.  With duplicate keys json_get() finds the first.
 */
#ifndef FM_TEST_JSON_H
#define FM_TEST_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

typedef enum json_type {
  JSON_NONE = 0, /* what json_type_of(NULL) says */
  JSON_NULL,
  JSON_BOOL,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT,
} json_type;

typedef struct json json;

/* Parses the |len| bytes at |text| (one value, optional surrounding
 * whitespace, nothing else).  Returns the root, or NULL and a message such
 * as "line 3, column 14: expected ':'" in |err| (|errcap| bytes; may be
 * NULL when 0). */
json *json_parse(const char *text, size_t len, char *err, size_t errcap);

/* Reads and parses the file at |path|.  Returns the root, or NULL after
 * printing "<path>: <why>" to stderr. */
json *json_load_file(const char *path);

/* Frees a root returned by json_parse() or json_load_file() (NULL: no-op). */
void json_free(json *root);

json_type json_type_of(const json *v);

/* The member |key| of the object |obj|, or NULL. */
const json *json_get(const json *obj, const char *key);

/* The |i|-th element of an array, or the |i|-th member value of an object
 * in document order; NULL past the end. */
const json *json_at(const json *v, size_t i);

/* The |i|-th key of an object (NUL-terminated), or NULL. */
const char *json_key(const json *obj, size_t i);

/* Elements of an array, members of an object, bytes of a string (which
 * may hold a NUL from \u0000); 0 for anything else. */
size_t json_len(const json *v);

/* A string's bytes, NUL-terminated, or NULL if |v| is not a string. */
const char *json_str(const json *v);

/* A number's value as a double, or NaN if |v| is not a number. */
double json_num(const json *v);

/* Stores a number that is written as an integer (no fraction, no exponent)
 * and fits in int64_t into |*out|.  Returns 0, or -1 (|*out| untouched). */
int json_int(const json *v, int64_t *out);

/* 1 for true, 0 for false, -1 if |v| is not a boolean. */
int json_bool(const json *v);

/* Decodes a string of hex digits (either case) into |out| (|cap| bytes)
 * and stores the byte count in |*len|.  Returns 0, or -1 if |v| is not a
 * string, has an odd number of digits or a non-hex character, or needs
 * more than |cap| bytes (|out| and |*len| may then be partly written). */
int json_hex(const json *v, uint8_t *out, size_t cap, size_t *len);

/* As json_hex(), for bytes written with a separator between them, such as
 * "c4-02-00-ff" (|sep| '-').  The empty string is zero bytes. */
int json_hex_sep(const json *v, char sep, uint8_t *out, size_t cap,
                 size_t *len);

#endif
