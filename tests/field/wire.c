/* fm-wire: a slow Ethernet wire between two network namespaces, for the
 * field tests (tests/field/).  The kernels we test on have no netem qdisc,
 * so the delay of a poor 3G link is made here.
 *
 *   fm-wire NS_A NS_B DELAY_MS [IFNAME]
 *
 * Makes a TAP interface IFNAME (default "wire0") in each of the network
 * namespaces NS_A and NS_B (/run/netns/NAME, as `ip netns add` makes
 * them) and carries every Ethernet frame written by one side to the other
 * DELAY_MS milliseconds later, in order.  Broadcast and multicast frames
 * pass like any other, so the two namespaces share one link: ARP,
 * discovery beacons and TCP alike.  Rate and loss are not its business:
 * the tests put a tbf qdisc and an nftables rule on the TAP interfaces.
 *
 * Runs until SIGTERM or SIGINT; the interfaces vanish with the process.
 * At most QUEUE_MAX frames wait in each direction; more are dropped and
 * counted (a link has a buffer too).  Exit codes: 0 after a signal, 77
 * when TAP interfaces cannot be made here (no /dev/net/tun, not root),
 * 1 for anything else, 2 for bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX 4096      /* frames waiting per direction */
#define FRAME_MAX 1600      /* an MTU-1500 Ethernet frame fits */

typedef struct frame {
  uint64_t due_us;
  uint16_t len;
  uint8_t buf[FRAME_MAX];
} frame;

/* Frames on their way from one TAP to the other, oldest first. */
typedef struct lane {
  int in, out;              /* read from |in|, written to |out| later */
  frame *q;                 /* QUEUE_MAX slots, a ring */
  size_t head, n;
  uint64_t carried, dropped;
} lane;

static volatile sig_atomic_t stop_now;

static void on_signal(int sig) {
  (void)sig;
  stop_now = 1;
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A TAP interface |ifname| inside the namespace |ns|: the descriptor stays
 * bound to that namespace whatever this process joins afterwards. */
static int tap_in(const char *ns, const char *ifname) {
  char path[512];
  struct ifreq ifr;
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) {
    fprintf(stderr, "fm-wire: no network namespace %s (%s): make it with `ip netns add`\n", ns,
            strerror(errno));
    exit(1);
  }
  if (setns(nsfd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "fm-wire: cannot enter the namespace %s: %s\n", ns, strerror(errno));
    exit(errno == EPERM ? 77 : 1);
  }
  close(nsfd);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "fm-wire: cannot open /dev/net/tun: %s\n", strerror(errno));
    exit(77);
  }
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "fm-wire: cannot make the TAP interface %s in %s: %s\n", ifname, ns,
            strerror(errno));
    exit(errno == EPERM ? 77 : 1);
  }
  return fd;
}

/* Reads every frame waiting on |l->in| and queues it for later. */
static void take_in(lane *l, uint64_t now, uint64_t delay_us, uint8_t *buf, size_t cap) {
  for (;;) {
    ssize_t n = read(l->in, buf, cap);
    if (n <= 0) return; /* EAGAIN: all read */
    if (l->n == QUEUE_MAX || (size_t)n > FRAME_MAX) {
      l->dropped++;
      continue;
    }
    frame *f = &l->q[(l->head + l->n) % QUEUE_MAX];
    f->due_us = now + delay_us;
    f->len = (uint16_t)n;
    memcpy(f->buf, buf, (size_t)n);
    l->n++;
  }
}

/* Writes the frames whose time has come. */
static void give_out(lane *l, uint64_t now) {
  while (l->n && l->q[l->head].due_us <= now) {
    frame *f = &l->q[l->head];
    /* A TAP write hands the frame to the namespace's stack at once; a
     * failure (the interface is down) loses the frame, as a wire would. */
    if (write(l->out, f->buf, f->len) == (ssize_t)f->len) l->carried++;
    else l->dropped++;
    l->head = (l->head + 1) % QUEUE_MAX;
    l->n--;
  }
}

static int wait_ms(const lane *l, size_t nl, uint64_t now) {
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < nl; i++)
    if (l[i].n && l[i].q[l[i].head].due_us < next) next = l[i].q[l[i].head].due_us;
  if (next == UINT64_MAX) return 1000;
  return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

int main(int argc, char **argv) {
  struct sigaction sa;
  char *end;
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: fm-wire NS_A NS_B DELAY_MS [IFNAME]\n");
    return 2;
  }
  unsigned long delay_ms = strtoul(argv[3], &end, 10);
  if (*end || end == argv[3] || delay_ms > 60000) {
    fprintf(stderr, "fm-wire: DELAY_MS must be a number of milliseconds up to 60000\n");
    return 2;
  }
  const char *ifname = argc == 5 ? argv[4] : "wire0";
  int a = tap_in(argv[1], ifname), b = tap_in(argv[2], ifname);
  lane lanes[2] = {{a, b, NULL, 0, 0, 0, 0}, {b, a, NULL, 0, 0, 0, 0}};
  for (int i = 0; i < 2; i++) {
    if (!(lanes[i].q = malloc(QUEUE_MAX * sizeof(frame)))) {
      fprintf(stderr, "fm-wire: out of memory\n");
      return 1;
    }
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  uint64_t delay_us = (uint64_t)delay_ms * 1000u;
  static uint8_t scratch[65536]; /* one read; a frame longer than FRAME_MAX is dropped */
  while (!stop_now) {
    struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    int rv = poll(p, 2, wait_ms(lanes, 2, now_us()));
    if (rv < 0 && errno != EINTR) {
      fprintf(stderr, "fm-wire: poll: %s\n", strerror(errno));
      return 1;
    }
    uint64_t now = now_us();
    for (int i = 0; i < 2; i++)
      if (rv > 0 && (p[i].revents & POLLIN))
        take_in(&lanes[i], now, delay_us, scratch, sizeof scratch);
    give_out(&lanes[0], now);
    give_out(&lanes[1], now);
  }
  fprintf(stderr, "fm-wire: %s -> %s: %llu frames carried, %llu dropped; %s -> %s: %llu "
          "carried, %llu dropped\n", argv[1], argv[2], (unsigned long long)lanes[0].carried,
          (unsigned long long)lanes[0].dropped, argv[2], argv[1],
          (unsigned long long)lanes[1].carried, (unsigned long long)lanes[1].dropped);
  free(lanes[0].q);
  free(lanes[1].q);
  return 0;
}
