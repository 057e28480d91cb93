/* fmd_web: the gateway's read-only dashboard (docs/operations.md, "The
 * dashboard"), served over HTTP by the H2O library on the daemon's own
 * libuv loop.  H2O parses the requests (malformed ones get its 400) and
 * times out slow clients; this module routes GET and HEAD to the pages
 * (web_mesh.c, web_records.c, web_reports.c, web_upstream.c, web_problems.c), which read
 * the store on the loop thread as the sessions do, and asks web_auth.c
 * for the password off loopback.  Every other method gets 405.
 *
 * Life: fmd_web_start() -> fmd_web_stop() (with the node's stop) ->
 * fmd_web_free() after uv_run() returned. */
#ifndef FMD_WEB_H
#define FMD_WEB_H

#define FMD_WEB_CONNS_MAX 512   /* connections at once; more are closed at accept */

typedef struct fmd_node fmd_node;
typedef struct fmd_web fmd_web;

/* Starts the dashboard when this daemon is a gateway ([upstream] set) or
 * [web] listen was given, and [web] listen is not off.  Returns 0 with
 * |*out| (NULL when there is no dashboard), or FMD_EXIT_FAIL after
 * logging one line (the password file, or a [web] listen given in the
 * file that cannot be bound; the default address taken only warns). */
int fmd_web_start(fmd_node *d, fmd_web **out);

/* Stops accepting, asks open connections to finish (idempotent). */
void fmd_web_stop(fmd_web *w);

/* After uv_run(): releases H2O's context and |w|. */
void fmd_web_free(fmd_web *w);

#endif
