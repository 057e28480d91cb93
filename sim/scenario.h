/* A scenario: the commune, its people and devices, their work rhythm, the
 * links between them and the faults to inject.  Loaded from a scenario
 * file (docs/simulator.md, sim/scenarios/README.md) and read-only after.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "cal.h"
#include "fieldmesh/enroll.h"
#include "value.h"

#define SIM_ID_MAX 32
#define SIM_TEXT_MAX FM_NAME_MAX
/* The largest scan: one attachment's limit (attach.h), 7.5 MiB. */
#define SIM_SCAN_KB_MAX 7680
/* The scan --scans attaches when the scenario names no size: a few pages
 * of a citizen's papers. */
#define SIM_SCAN_KB_DEFAULT 300

typedef struct sim_rhythm {
  char id[SIM_ID_MAX];
  sim_days days;
  sim_hours hours;            /* work blocks of a day */
  sim_dist visits, dossiers;  /* per member per block */
  sim_dist citizens;          /* per visit */
  sim_weights modes, services, procedures;
  double reject;              /* share of dossiers rejected */
  double correct;             /* share of submitted dossiers whose reference a
                               * team-mate corrects after seeing it */
  sim_range submit, process, ready, deliver;  /* delays between statuses */
} sim_rhythm;

typedef struct sim_team {
  char id[SIM_ID_MAX];
  char name[SIM_TEXT_MAX];
  int nvillages;
  char villages[FM_VILLAGES_MAX][SIM_TEXT_MAX];
  int rhythm;                 /* index, -1 none */
} sim_team;

typedef enum sim_hostile {
  SIM_HOSTILE_NONE,
  SIM_HOSTILE_NOISE,          /* random bytes from the first byte */
  SIM_HOSTILE_FLIP,           /* a flipped byte in every frame after the handshake */
  SIM_HOSTILE_OVERSIZE,       /* a frame header claiming 1 MiB after the handshake */
} sim_hostile;

typedef struct sim_node_spec {
  char id[SIM_ID_MAX];
  char name[SIM_TEXT_MAX];
  fm_role role;
  int team;                   /* index, -1 none */
  char village[SIM_TEXT_MAX]; /* where the member lives */
  int rhythm;                 /* index, -1: writes nothing */
  sim_hostile hostile;
  fm_time hostile_from;
  int twin_of;                /* a laptop carrying a copy of this node's key, -1 */
  fm_time appears;            /* when the twin first starts */
  int line;
} sim_node_spec;

typedef struct sim_campaign {
  char id[SIM_ID_MAX];
  char title[SIM_TEXT_MAX];
  int64_t from_day, to_day;   /* inclusive, local days */
  uint64_t dossiers;          /* exactly this many, spread over the work blocks */
  sim_weights procedures;
  uint8_t *who;               /* per node: takes part */
} sim_campaign;

typedef enum sim_link_kind { SIM_LINK_LAN, SIM_LINK_3G, SIM_LINK_USB } sim_link_kind;
typedef enum sim_link_mode {
  SIM_MODE_STAY,              /* connected for the whole window, entries pushed live */
  SIM_MODE_SYNC,              /* connect, catch up, say goodbye */
} sim_link_mode;

typedef struct sim_pair {
  int a, b;                   /* node indexes; a dials */
} sim_pair;

typedef struct sim_link_spec {
  char id[SIM_ID_MAX];
  sim_link_kind kind;
  sim_link_mode mode;
  sim_pair *pairs;
  size_t npairs;
  sim_days days;
  sim_hours hours;            /* windows when the link is up */
  fm_time jitter;             /* each pair connects this much after the window opens, at most */
  fm_time latency, ping, idle, retry;
  fm_time ping_max;     /* quiet pings back off up to this (the daemon: 30 min) */
  uint64_t bandwidth;         /* bytes per second, each way */
  double loss;                /* chance that a chunk of 16 KiB kills the connection */
  int at_minute;              /* usb: when the stick leaves */
  fm_time carry;              /* usb: travel time each way */
  int line;
} sim_link_spec;

typedef enum sim_fault_kind {
  SIM_FAULT_CUT, SIM_FAULT_CRASH, SIM_FAULT_CLOCK, SIM_FAULT_REVOKE, SIM_FAULT_RESTORE
} sim_fault_kind;
typedef enum sim_after { SIM_AFTER_GATEWAY, SIM_AFTER_FORK, SIM_AFTER_SEQ } sim_after;

typedef struct sim_fault_spec {
  char id[SIM_ID_MAX];
  sim_fault_kind kind;
  fm_time at, until;          /* until: clock faults, FM_TIME_NEVER for the rest of the run */
  fm_time down;               /* crash: how long the laptop stays off */
  fm_time age;                /* restore: how old the copy put back is */
  fm_time offset;             /* clock: how far off */
  int node, link;
  uint64_t bytes;             /* cut: bytes into the session */
  sim_after after;            /* revoke: the last trusted seq */
  uint64_t after_seq;
  int line;
} sim_fault_spec;

typedef struct sim_scenario {
  char path[512];
  char name[SIM_ID_MAX];
  char title[256];
  char commune[SIM_TEXT_MAX];
  char authority[SIM_TEXT_MAX];
  int64_t start_day;          /* local date of day 1 */
  int days;                   /* days of field work */
  fm_time drain;              /* how long links keep running after the work, at most */
  int tz_min;                 /* minutes east of UTC */
  uint64_t seed;
  int seal;                   /* [scenario] seal: laptops seal personal fields */
  unsigned scan_kb;           /* [scenario] scan_kb: KiB of the scan attached to
                               * each dossier filed; 0: none */
  int gateway;                /* the node with the gateway role */
  int holder;                 /* the node that holds the authority key */
  sim_node_spec *nodes;
  size_t nnodes;
  sim_team *teams;
  size_t nteams;
  sim_rhythm *rhythms;
  size_t nrhythms;
  sim_campaign *campaigns;
  size_t ncampaigns;
  sim_link_spec *links;
  size_t nlinks;
  sim_fault_spec *faults;
  size_t nfaults;
} sim_scenario;

/* Loads the scenario at |path|.  0, or -1 with a one-line message naming
 * the file, the line, the key and the fix in |err|. */
int sim_scenario_load(const char *path, sim_scenario *out, char *err, size_t cap);
void sim_scenario_free(sim_scenario *sc);
/* The index of node |id|, -1 if none. */
int sim_scenario_node(const sim_scenario *sc, const char *id);
/* The instant a scenario datetime names: "2023-08-09 10:00" or "day 8 10:00"
 * (day 1 is the start).  0 or -1. */
int sim_scenario_when(const sim_scenario *sc, const char *s, fm_time *out);

#endif
