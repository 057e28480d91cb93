/* A report as a spreadsheet: see report_xlsx.h. */
#include "report_xlsx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"
#include "fieldmesh/procedure.h"
#include "fieldmesh/text.h"
#include "out.h"

#define CELL_CHARS 200          /* a key is at most FM_NAME_MAX bytes anyway */
#define WIDTH_MIN 8
#define WIDTH_MAX 60
#define BOOK_MAX ((size_t)64 << 20)

/* The sheet being filled: its widths grow with what is written. */
typedef struct sheet {
  lxw_worksheet *ws;
  lxw_format *bold;
  double width[2 + FM_REPORT_COLS];
  lxw_error err;
} sheet;

/* Text |s| into a cell, cleaned (fm_text_clean); the column grows to fit
 * it unless |row| is the title's. */
static void put_text(sheet *sh, lxw_row_t row, lxw_col_t col, const char *s, lxw_format *f) {
  fm_buf b;
  fm_buf_init(&b, CELL_CHARS * 4 + 4);
  if (fm_text_clean(&b, s, strlen(s), CELL_CHARS) < 0 || fm_buf_put(&b, "", 1) < 0) {
    fm_buf_free(&b);
    sh->err = LXW_ERROR_MEMORY_MALLOC_FAILED;
    return;
  }
  lxw_error e = worksheet_write_string(sh->ws, row, col, (const char *)b.p, f);
  if (e && !sh->err) sh->err = e;
  double w = (double)fmc_text_width((const char *)b.p, b.len - 1) + 2;
  if (row > 0 && w > sh->width[col]) sh->width[col] = w;
  fm_buf_free(&b);
}

static void put_number(sheet *sh, lxw_row_t row, lxw_col_t col, uint64_t v, lxw_format *f) {
  char n[24];
  lxw_error e = worksheet_write_number(sh->ws, row, col, (double)v, f);
  if (e && !sh->err) sh->err = e;
  double w = (double)snprintf(n, sizeof n, "%llu", (unsigned long long)v) + 2;
  if (w > sh->width[col]) sh->width[col] = w;
}

/* One row: the key (and a procedure's name), then the figures shown. */
static void put_row(sheet *sh, const fm_report *r, lxw_row_t row, const fm_report_row *w,
                    const char *key, lxw_format *f) {
  lxw_col_t col = 0;
  put_text(sh, row, col++, key, f);
  if (r->by == FM_REPORT_PROCEDURE) {
    const fm_procedure *p = w != &r->total ? fm_procedure_find(key, strlen(key)) : NULL;
    put_text(sh, row, col++, p ? p->name_vi : "", f);
  }
  for (int k = 0; k < FM_REPORT_COLS; k++)
    if (fm_report_shown(r, k)) put_number(sh, row, col++, fm_report_figure(w, k), f);
}

/* Title, header, rows, total; then the column widths.  The lxw error. */
static lxw_error fill(lxw_workbook *wb, const fm_report *r, const char *by_name,
                      const char *title) {
  sheet sh;
  lxw_col_t col = 0;
  memset(&sh, 0, sizeof sh);
  if (!(sh.ws = workbook_add_worksheet(wb, "report")) || !(sh.bold = workbook_add_format(wb)))
    return LXW_ERROR_MEMORY_MALLOC_FAILED;
  format_set_bold(sh.bold);
  for (size_t i = 0; i < sizeof sh.width / sizeof sh.width[0]; i++) sh.width[i] = WIDTH_MIN;
  put_text(&sh, 0, 0, title, sh.bold);
  put_text(&sh, 2, col++, by_name, sh.bold);
  if (r->by == FM_REPORT_PROCEDURE) put_text(&sh, 2, col++, "name", sh.bold);
  for (int k = 0; k < FM_REPORT_COLS; k++)
    if (fm_report_shown(r, k)) put_text(&sh, 2, col++, fm_report_col_name(k), sh.bold);
  for (size_t i = 0; i < r->n; i++)
    put_row(&sh, r, (lxw_row_t)(3 + i), &r->rows[i], r->rows[i].key, NULL);
  put_row(&sh, r, (lxw_row_t)(3 + r->n), &r->total, "TOTAL", sh.bold);
  for (lxw_col_t k = 0; k < col; k++) {
    double w = sh.width[k] > WIDTH_MAX ? WIDTH_MAX : sh.width[k];
    lxw_error e = worksheet_set_column(sh.ws, k, k, w, NULL);
    if (e && !sh.err) sh.err = e;
  }
  worksheet_freeze_panes(sh.ws, 3, 0);
  return sh.err;
}

int fmc_report_xlsx_check(const fmc_ctx *c, const char *path, int force) {
  struct stat st;
  char dir[FMC_PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!*path || (slash && !slash[1]))
    return fmc_fail(c, "-o needs a file name, got \"%.200s\"", path);
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
           slash ? path : ".");
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return fmc_fail(c, "cannot write %.200s: the folder %.200s does not exist; create it or "
                       "choose another", path, dir);
  if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return fmc_fail(c, "-o %.200s is a folder: name a file in it, e.g. %.200s/report.xlsx",
                    path, path);
  if (lstat(path, &st) == 0 && !force)
    return fmc_fail(c, "%.200s exists already: add --force to replace it, or choose another "
                       "name", path);
  return 0;
}

/* The workbook's bytes, built in a private folder under $TMPDIR (which
 * is then removed) into |*out| (malloc'd, |*len| bytes). */
static int build(const fmc_ctx *c, const fm_report *r, const char *by_name, const char *title,
                 uint8_t **out, size_t *len) {
  char tmp[FMC_PATH_MAX], file[FMC_PATH_MAX + 16];
  const char *base = getenv("TMPDIR");
  snprintf(tmp, sizeof tmp, "%s/fieldmesh-xlsx-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmp))
    return fmc_fail(c, "cannot make a temporary folder in %s (%s): set TMPDIR to a writable "
                       "folder", base && *base ? base : "/tmp", strerror(errno));
  snprintf(file, sizeof file, "%s/report.xlsx", tmp);
  lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = tmp, .use_zip64 = LXW_FALSE};
  lxw_workbook *wb = workbook_new_opt(file, &opt);
  lxw_error e = wb ? fill(wb, r, by_name, title) : LXW_ERROR_MEMORY_MALLOC_FAILED;
  lxw_error closed = wb ? workbook_close(wb) : LXW_NO_ERROR;
  int rv = e || closed ? FM_ERR_IO : fm_fsfile_read(file, BOOK_MAX, out, len);
  unlink(file);
  rmdir(tmp);
  if (e || closed)
    return fmc_fail(c, "cannot build the workbook: %s", lxw_strerror(e ? e : closed));
  if (rv < 0) return fmc_fail(c, "cannot read the workbook back: %s", fm_strerror(rv));
  return 0;
}

int fmc_report_xlsx(const fmc_ctx *c, const fm_report *r, const char *by_name,
                    const char *title, const char *path, int force) {
  uint8_t *book = NULL;
  size_t len = 0;
  fm_fsfile f;
  mode_t mask = umask(0);
  int rv;
  umask(mask);
  if ((rv = build(c, r, by_name, title, &book, &len)) != 0) return rv;
  if ((rv = fm_fsfile_begin(&f, path, 0666 & ~mask)) == 0) {
    fm_fsfile_write(&f, book, len);
    rv = fm_fsfile_commit(&f, force ? FM_FSFILE_REPLACE : FM_FSFILE_NOREPLACE);
  }
  free(book);
  if (rv == FM_ERR_EXISTS)
    return fmc_fail(c, "%.200s exists already: add --force to replace it; nothing was written",
                    path);
  if (rv < 0)
    return fmc_fail(c, "cannot write %.200s (%s): check the folder exists and is writable; "
                       "nothing was written", path, fm_strerror(rv));
  return 0;
}
