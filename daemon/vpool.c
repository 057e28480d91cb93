/* The daemon's signature checkers.  See vpool.h. */
#include "vpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"

enum { FREE, TAKEN, JUDGED };

unsigned fmd_vpool_cores(void) {
  unsigned n = uv_available_parallelism();
  return n ? n : 1;
}

/* Entry |i|'s verdict: decode (limits: the store refused anything past
 * its own, which are never above the defaults) and Ed25519. */
static int judge(const fmd_vpool *p, const fm_slice *sl, size_t i) {
  fm_entry e;
  if (p->fail_at && i == p->fail_at - 1) return -ENOMEM;
  if (fm_entry_decode(sl->p, sl->len, NULL, &e) < 0) return FM_ERR_MALFORMED;
  return fm_entry_verify(&e);
}

/* Takes the next free entry of the batch, if any; called locked. */
static int take(fmd_vpool *p, size_t *i) {
  while (p->entries && p->next < p->n && p->state[p->next] != FREE) p->next++;
  if (!p->entries || p->next >= p->n) return 0;
  *i = p->next++;
  p->state[*i] = TAKEN;
  return 1;
}

static void worker(void *arg) {
  fmd_vpool *p = arg;
  size_t i;
  uv_mutex_lock(&p->mu);
  while (!p->stop) {
    if (!take(p, &i)) {
      uv_cond_wait(&p->work, &p->mu);
      continue;
    }
    const fm_slice *sl = &p->entries[i];
    p->busy++;
    uv_mutex_unlock(&p->mu);
    int v = judge(p, sl, i);
    uv_mutex_lock(&p->mu);
    p->verdicts[i] = v;
    p->state[i] = JUDGED;
    p->busy--;
    uv_cond_broadcast(&p->done);
  }
  uv_mutex_unlock(&p->mu);
}

int fmd_vpool_start(fmd_vpool *p, unsigned nthreads) {
  int rv;
  memset(p, 0, sizeof *p);
  if (nthreads < 1 || nthreads > FMD_VPOOL_MAX) return UV_EINVAL;
  if ((rv = uv_mutex_init(&p->mu)) < 0) return rv;
  if ((rv = uv_cond_init(&p->work)) < 0) {
    uv_mutex_destroy(&p->mu);
    return rv;
  }
  if ((rv = uv_cond_init(&p->done)) < 0) {
    uv_cond_destroy(&p->work);
    uv_mutex_destroy(&p->mu);
    return rv;
  }
  for (unsigned i = 0; i < nthreads; i++) {
    if ((rv = uv_thread_create(&p->threads[i], worker, p)) < 0) {
      fmd_vpool_stop(p);
      return rv;
    }
    p->nthreads++;
  }
  return 0;
}

void fmd_vpool_stop(fmd_vpool *p) {
  if (!p->nthreads && !p->cap) return;
  if (p->nthreads) {
    uv_mutex_lock(&p->mu);
    p->stop = 1;
    uv_cond_broadcast(&p->work);
    uv_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++) uv_thread_join(&p->threads[i]);
    uv_cond_destroy(&p->done);
    uv_cond_destroy(&p->work);
    uv_mutex_destroy(&p->mu);
  }
  free(p->state);
  free(p->verdicts);
  memset(p, 0, sizeof *p);
}

static int vp_begin(void *ctx, const fm_slice *entries, size_t n) {
  fmd_vpool *p = ctx;
  uv_mutex_lock(&p->mu);
  if (n > p->cap) {
    int8_t *st = realloc(p->state, n * sizeof *st);
    if (st) p->state = st;
    int *vd = st ? realloc(p->verdicts, n * sizeof *vd) : NULL;
    if (!vd) {
      uv_mutex_unlock(&p->mu);
      return -ENOMEM;
    }
    p->verdicts = vd;
    p->cap = n;
  }
  memset(p->state, FREE, n * sizeof *p->state);
  p->entries = entries;
  p->n = n;
  p->next = 0;
  uv_cond_broadcast(&p->work);
  uv_mutex_unlock(&p->mu);
  return 0;
}

/* Judges entry |i| on the calling thread, which took it; called locked,
 * returns locked. */
static int judge_here(fmd_vpool *p, size_t i) {
  const fm_slice *sl = &p->entries[i];
  uv_mutex_unlock(&p->mu);
  int v = judge(p, sl, i);
  uv_mutex_lock(&p->mu);
  p->verdicts[i] = v;
  p->state[i] = JUDGED;
  return v;
}

/* The verdict of entry |i|: judged already, or judged here when no one
 * took it.  While a worker judges it, this thread judges the next free
 * entry instead of waiting, so the writer is one more checker. */
static int vp_verdict(void *ctx, size_t i) {
  fmd_vpool *p = ctx;
  size_t j;
  int v;
  uv_mutex_lock(&p->mu);
  FM_ASSERT(p->entries && i < p->n);
  for (;;) {
    if (p->state[i] == JUDGED) {
      v = p->verdicts[i];
      break;
    }
    if (p->state[i] == FREE) {
      p->state[i] = TAKEN;
      v = judge_here(p, i);
      break;
    }
    if (take(p, &j)) judge_here(p, j);
    else uv_cond_wait(&p->done, &p->mu);
  }
  uv_mutex_unlock(&p->mu);
  return v;
}

/* No worker takes more of the batch, and none still reads it. */
static void vp_end(void *ctx) {
  fmd_vpool *p = ctx;
  uv_mutex_lock(&p->mu);
  p->entries = NULL;
  p->n = p->next = 0;
  while (p->busy) uv_cond_wait(&p->done, &p->mu);
  uv_mutex_unlock(&p->mu);
}

fm_verifier fmd_vpool_verifier(fmd_vpool *p) {
  fm_verifier v = {p, vp_begin, vp_verdict, vp_end};
  return v;
}
