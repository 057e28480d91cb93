/* The virtual network: connections between two nodes, each carrying one
 * sync session per side, with latency, bandwidth (bytes are paced out of
 * the session only as fast as the link carries them) and loss.
 *
 * Loss is modelled as TCP shows it: a lost chunk kills the connection
 * (the session dies and is reopened on the next contact), never a silent
 * gap in the byte stream.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "fieldmesh/session.h"
#include "world.h"

#define SIM_CHUNK (64 * 1024)   /* bytes pulled from a session at a time: one read */

typedef enum sim_end {
  SIM_END_CLOSED,     /* a side closed (goodbye, refusal or protocol error) */
  SIM_END_LINK_DOWN,  /* the window ended: people left the hall */
  SIM_END_LOSS,       /* a chunk was lost */
  SIM_END_FAULT,      /* a scripted cut */
  SIM_END_CRASH,      /* a laptop crashed */
  SIM_END_RUN_OVER,   /* the simulation ended */
} sim_end;

typedef struct sim_dir {
  fm_time busy_until;         /* the sender's side of the link is busy until then */
  fm_time last_arrival;       /* bytes arrive in order */
  int pump_pending;           /* a PUMP event is queued */
  uint32_t inflight;          /* chunks on the way */
  int fin, lost;
} sim_dir;

struct sim_conn {
  uint32_t slot, gen;
  int link;
  size_t pair;
  int node[2];                /* node[0] dialled */
  fm_session *s[2];
  sim_dir dir[2];             /* dir[i]: bytes from node[i] to node[1 - i] */
  fm_time opened, timer_at;
  uint64_t bytes;
  uint64_t cut_at;            /* a scripted cut at this many bytes; UINT64_MAX none */
  int hostile;                /* the side that sends garbage, -1 none */
  uint64_t hostile_bytes;     /* garbage the honest side received */
  int closing;
};

/* Opens a connection for pair |pair| of link |link|.  0 or a negative code. */
int sim_net_connect(sim_world *w, int link, size_t pair);
/* Ends |c| for |why|, counts it, and tells the link. */
void sim_net_kill(sim_world *w, sim_conn *c, sim_end why);
/* Event handlers. */
void sim_net_on_pump(sim_world *w, const sim_event *ev);
void sim_net_on_deliver(sim_world *w, sim_event *ev);
void sim_net_on_fin(sim_world *w, const sim_event *ev);
void sim_net_on_lost(sim_world *w, const sim_event *ev);
void sim_net_on_timer(sim_world *w, const sim_event *ev);
/* The node's store gained entries: every session of it offers them. */
void sim_net_notify(sim_world *w, sim_node *n);
/* True when |a| and |b| already have a connection. */
int sim_net_connected(const sim_world *w, int a, int b);
/* Ends every connection of node |n| (a crash) or of link |link|. */
void sim_net_kill_node(sim_world *w, sim_node *n, sim_end why);
void sim_net_kill_link(sim_world *w, int link, sim_end why);
/* The node's local time: the true time plus its clock's error. */
fm_time sim_net_node_now(const sim_world *w, const sim_node *n);

#endif
