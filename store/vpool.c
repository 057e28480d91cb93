/* Signature checkers on every core.  See include/fieldmesh/vpool.h. */
#ifdef __linux__
#define _GNU_SOURCE   /* sched_getaffinity: the cores this process may use */
#include <sched.h>
#endif
#include "fieldmesh/vpool.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fieldmesh/error.h"

enum { FREE, TAKEN, JUDGED };

unsigned fm_vpool_cores(void) {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return (unsigned)CPU_COUNT(&set);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

/* Entry |i|'s verdict: decode (limits: the store refused anything past
 * its own, which are never above the defaults) and Ed25519. */
static int judge(const fm_vpool *p, const fm_slice *sl, size_t i) {
  fm_entry e;
  if (p->fail_at && i == p->fail_at - 1) return -ENOMEM;
  if (fm_entry_decode(sl->p, sl->len, NULL, &e) < 0) return FM_ERR_MALFORMED;
  return fm_entry_verify(&e);
}

/* Takes the next free entry, if any; called locked. */
static int take(fm_vpool *p, size_t *i) {
  while (p->entries && p->next < p->n && p->state[p->next] != FREE) p->next++;
  if (!p->entries || p->next >= p->n) return 0;
  *i = p->next++;
  p->state[*i] = TAKEN;
  return 1;
}

static void *worker(void *arg) {
  fm_vpool *p = arg;
  size_t i;
  pthread_mutex_lock(&p->mu);
  while (!p->stop) {
    if (!take(p, &i)) {
      pthread_cond_wait(&p->work, &p->mu);
      continue;
    }
    const fm_slice *sl = &p->entries[i];
    p->busy++;
    pthread_mutex_unlock(&p->mu);
    int v = judge(p, sl, i);
    pthread_mutex_lock(&p->mu);
    p->verdicts[i] = v;
    p->state[i] = JUDGED;
    p->busy--;
    pthread_cond_broadcast(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int fm_vpool_start(fm_vpool *p, unsigned nthreads) {
  int rv;
  memset(p, 0, sizeof *p);
  if (nthreads < 1 || nthreads > FM_VPOOL_MAX) return FM_ERR_INVAL;
  if ((rv = pthread_mutex_init(&p->mu, NULL)) != 0) return -rv;
  if ((rv = pthread_cond_init(&p->work, NULL)) != 0) {
    pthread_mutex_destroy(&p->mu);
    return -rv;
  }
  if ((rv = pthread_cond_init(&p->done, NULL)) != 0) {
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    return -rv;
  }
  for (unsigned i = 0; i < nthreads; i++) {
    if ((rv = pthread_create(&p->threads[i], NULL, worker, p)) != 0) {
      if (p->nthreads) {
        fm_vpool_stop(p);
      } else {
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->mu);
        memset(p, 0, sizeof *p);
      }
      return -rv;
    }
    p->nthreads++;
  }
  return 0;
}

void fm_vpool_stop(fm_vpool *p) {
  if (!p->nthreads && !p->cap) return;
  if (p->nthreads) {
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
  }
  free(p->state);
  free(p->verdicts);
  memset(p, 0, sizeof *p);
}

/* No worker takes more, and none still reads an entry; called locked. */
static void let_go(fm_vpool *p) {
  p->entries = NULL;
  p->n = p->next = p->base = p->batch_n = 0;
  p->ahead = 0;
  while (p->busy) pthread_cond_wait(&p->done, &p->mu);
}

/* Hands |n| entries to the workers; called locked, after let_go(). */
static int hand_out(fm_vpool *p, const fm_slice *entries, size_t n) {
  if (n > p->cap) {
    int8_t *st = realloc(p->state, n * sizeof *st);
    if (st) p->state = st;
    int *vd = st ? realloc(p->verdicts, n * sizeof *vd) : NULL;
    if (!vd) return -ENOMEM;
    p->verdicts = vd;
    p->cap = n;
  }
  memset(p->state, FREE, n * sizeof *p->state);
  p->entries = entries;
  p->n = n;
  p->next = 0;
  pthread_cond_broadcast(&p->work);
  return 0;
}

static int vp_ahead(void *ctx, const fm_slice *entries, size_t n) {
  fm_vpool *p = ctx;
  int rv = 0;
  pthread_mutex_lock(&p->mu);
  let_go(p);
  if (n && (rv = hand_out(p, entries, n)) == 0) p->ahead = 1;
  pthread_mutex_unlock(&p->mu);
  return rv;
}

/* Where |entries| starts in the ahead array, when all |n| of them are
 * part of it (compared as addresses: the caller passes a slice of the
 * very array it named). */
static int within(const fm_vpool *p, const fm_slice *entries, size_t n, size_t *at) {
  uintptr_t a = (uintptr_t)p->entries, b = (uintptr_t)entries;
  if (!p->ahead || b < a || (b - a) % sizeof *entries) return 0;
  size_t k = (b - a) / sizeof *entries;
  if (k > p->n || n > p->n - k) return 0;
  *at = k;
  return 1;
}

static int vp_begin(void *ctx, const fm_slice *entries, size_t n) {
  fm_vpool *p = ctx;
  size_t at;
  int rv = 0;
  pthread_mutex_lock(&p->mu);
  if (within(p, entries, n, &at)) {
    p->base = at;
  } else {
    /* A batch from elsewhere: the array named ahead is given up (its
     * later batches are then checked batch by batch, as correctly). */
    let_go(p);
    rv = hand_out(p, entries, n);
  }
  if (rv == 0) p->batch_n = n;
  pthread_mutex_unlock(&p->mu);
  return rv;
}

/* Judges entry |i| on the calling thread, which took it; called locked,
 * returns locked. */
static int judge_here(fm_vpool *p, size_t i) {
  const fm_slice *sl = &p->entries[i];
  pthread_mutex_unlock(&p->mu);
  int v = judge(p, sl, i);
  pthread_mutex_lock(&p->mu);
  p->verdicts[i] = v;
  p->state[i] = JUDGED;
  return v;
}

/* The verdict of the batch's entry |i|: judged already, or judged here
 * when no one took it.  While a worker judges it, this thread judges the
 * next free entry instead of waiting, so the writer is one more checker. */
static int vp_verdict(void *ctx, size_t i) {
  fm_vpool *p = ctx;
  size_t j;
  int v;
  pthread_mutex_lock(&p->mu);
  FM_ASSERT(p->entries && i < p->batch_n);
  i += p->base;
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
    else pthread_cond_wait(&p->done, &p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return v;
}

/* A batch ends: its workers let go of it, unless it is part of an array
 * named ahead, whose later entries they go on checking. */
static void vp_end(void *ctx) {
  fm_vpool *p = ctx;
  pthread_mutex_lock(&p->mu);
  if (!p->ahead) let_go(p);
  else p->batch_n = 0;
  pthread_mutex_unlock(&p->mu);
}

fm_verifier fm_vpool_verifier(fm_vpool *p) {
  fm_verifier v = {p, vp_begin, vp_verdict, vp_end, vp_ahead};
  return v;
}
