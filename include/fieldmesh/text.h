/* One form for every text a person types: Unicode NFC, no blank space at
 * either end, and a folded form for matching names without case or
 * diacritics.
 *
 * "Nghĩa Tân" can arrive composed (ĩ as one code point) or decomposed (i
 * then a combining tilde), as some keyboards and copy-paste produce; the
 * two look the same and must be one village.  Every record body is
 * written in the normalized form (fm_text_norm), and views and reports
 * compare normalized forms, so stores holding older decomposed text
 * still group as one.  Normalization is utf8proc's (libutf8proc), never a
 * table of our own.
 *
 * Functions append to an fm_buf and return 0, FM_ERR_MALFORMED for bytes
 * that are not UTF-8 (|out| unchanged), or the buffer's error.  None
 * keeps a pointer to its input.  Thread-safe: no state. */
#ifndef FIELDMESH_TEXT_H
#define FIELDMESH_TEXT_H

#include <stddef.h>

#include "fieldmesh/wire.h"

/* |s| (|n| bytes) in NFC with blank space (Unicode space separators,
 * tabs, newlines) removed from both ends; text that is only blank space
 * becomes empty.  Blank space inside is kept as typed. */
int fm_text_norm(fm_buf *out, const char *s, size_t n);

/* The matching key of |s|: NFC, trimmed, case-folded, marks stripped and
 * đ/Đ read as d, inner runs of blank space made one space; so "Nghia
 * tan", "NGHĨA TÂN" and "Nghĩa  Tân" share one key.  For suggestions and
 * look-ups only: records keep the text as typed (normalized). */
int fm_text_fold(fm_buf *out, const char *s, size_t n);

/* 1 when |a| (|an| bytes) and |b| (|bn|) are the same text in their one
 * form (|fold| 0: fm_text_norm) or the same name (|fold| 1: fm_text_fold);
 * 0 when not, or when either is not UTF-8.  Equal bytes are the same
 * without normalizing. */
int fm_text_same(const char *a, size_t an, const char *b, size_t bn, int fold);

/* 1 when |s| (|n| bytes) is already what fm_text_norm makes of it, 0 when
 * not (or when it is not UTF-8). */
int fm_text_is_norm(const char *s, size_t n);

/* Characters (code points) in |s|, which must be UTF-8; what a person
 * counts, so limits in messages are stated in these. */
size_t fm_text_chars(const char *s, size_t n);

/* |s| (|n| bytes, any bytes: a received entry's text is hostile) made fit
 * for a document a person opens, a spreadsheet cell or a printed line:
 * each byte that is not UTF-8, each control character (tab and newline
 * too), surrogate and noncharacter becomes U+FFFD; the rest is put in its
 * one form (fm_text_norm); text of more than |max_chars| characters (at
 * least 2) is cut to |max_chars| - 1 and ends with "…".  Appends to
 * |out|: 0, or the buffer's error or -ENOMEM (|out| then unchanged). */
int fm_text_clean(fm_buf *out, const char *s, size_t n, size_t max_chars);

#endif
