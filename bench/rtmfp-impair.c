/* rtmfp-impair: a user-space impaired IP link between two network
 * namespaces, for bench/rtmfp-bench-loss.sh.
 *
 *   rtmfp-impair --ns-a NS --ns-b NS [--dev-a NAME] [--dev-b NAME]
 *                [--delay MS] [--loss PERCENT] [--burst N] [--seed S]
 *                [--rate KBIT] [--queue BYTES]
 *
 * The kernel here has no netem, so delay and loss are made in user space:
 * the program creates one TUN device (IFF_TUN | IFF_NO_PI) inside each
 * namespace (setns () before opening /dev/net/tun puts the device there)
 * and forwards whole IP packets between them.  Every packet, in either
 * direction, is delayed by --delay ms (one way: 15 ms each way makes a
 * 30 ms RTT) and dropped with probability --loss % from a seeded PRNG (one
 * per direction).  --burst N > 1 uses a two-state Gilbert model with mean
 * burst length N and the same long-run loss rate.  --rate makes each
 * direction a bottleneck of KBIT kbit/s (packets leave one after the other
 * at that rate, then take the delay) with a drop-tail queue of --queue
 * bytes (default: 100 ms at the rate, at least 15000): a packet that
 * would find more than that waiting is dropped ("qdrop", counted apart
 * from the random "drop").  Since it works on IP
 * packets, TCP (RTMP) and UDP (RTMFP, SRT) cross the very same impaired
 * path.
 *
 * Prints "ready" on stdout once both devices exist (the caller then sets
 * addresses and brings them up); on SIGINT/SIGTERM it prints per-direction
 * counters ("stats a->b fwd=N drop=N overflow=N qdrop=N
 * b->a ...") and exits.  The
 * devices are not persistent: they vanish when the program exits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#define MAX_PKT 65536
#define QUEUE_MAX 16384         /* packets in flight per direction */

typedef struct {
  int64_t due;                  /* monotonic µs */
  uint16_t len;
  uint8_t *data;
} Pkt;

typedef struct {
  int in_fd, out_fd;
  Pkt q[QUEUE_MAX];
  unsigned head, count;
  uint64_t rng;
  int bad;                      /* Gilbert state */
  int64_t busy_until;           /* bottleneck: the last packet leaves */
  uint64_t fwd, drop, overflow, qdrop;
} Dir;

static volatile sig_atomic_t stop;

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
}

static int64_t
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: deterministic per seed, plenty for loss decisions */
static double
rng_next (uint64_t * s)
{
  uint64_t x = *s;

  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return (double) ((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int
tun_open_in (const char *ns, const char *name)
{
  char path[256];
  int self, nsfd, fd;
  struct ifreq ifr;

  self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  snprintf (path, sizeof path, "/run/netns/%s", ns);
  nsfd = open (path, O_RDONLY | O_CLOEXEC);
  if (self < 0 || nsfd < 0) {
    fprintf (stderr, "rtmfp-impair: cannot open netns %s: %s\n", ns,
        strerror (errno));
    exit (2);
  }
  if (setns (nsfd, CLONE_NEWNET) < 0) {
    fprintf (stderr, "rtmfp-impair: setns %s: %s\n", ns, strerror (errno));
    exit (2);
  }
  /* the device is created in the namespace /dev/net/tun was opened in */
  fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    fprintf (stderr, "rtmfp-impair: /dev/net/tun: %s\n", strerror (errno));
    exit (2);
  }
  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  snprintf (ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl (fd, TUNSETIFF, &ifr) < 0) {
    fprintf (stderr, "rtmfp-impair: TUNSETIFF %s: %s\n", name,
        strerror (errno));
    exit (2);
  }
  if (setns (self, CLONE_NEWNET) < 0) {
    fprintf (stderr, "rtmfp-impair: setns back: %s\n", strerror (errno));
    exit (2);
  }
  close (self);
  close (nsfd);
  return fd;
}

static int
drop_decision (Dir * d, double p, double burst)
{
  if (p <= 0)
    return 0;
  if (burst <= 1)
    return rng_next (&d->rng) < p;
  /* Gilbert: bad state drops everything, mean sojourn `burst` packets;
   * good->bad chosen so the stationary loss rate is p */
  if (d->bad) {
    if (rng_next (&d->rng) < 1.0 / burst)
      d->bad = 0;
  } else {
    double g2b = p / (burst * (1.0 - p));
    if (rng_next (&d->rng) < g2b)
      d->bad = 1;
  }
  return d->bad;
}

static double rate_bps;         /* 0: no bottleneck */
static double queue_bytes;

/* The bottleneck: when a packet of n bytes arriving at t leaves it, or -1
 * when the drop-tail queue is full */
static int64_t
bottleneck (Dir * d, int64_t t, size_t n)
{
  int64_t start = d->busy_until > t ? d->busy_until : t;
  double backlog = (double) (start - t) * rate_bps / 8e6;

  if (backlog + (double) n > queue_bytes)
    return -1;
  d->busy_until = start + (int64_t) ((double) n * 8e6 / rate_bps);
  return d->busy_until;
}

static void
read_side (Dir * d, int64_t delay_us, double p, double burst)
{
  uint8_t buf[MAX_PKT];

  for (;;) {
    ssize_t n = read (d->in_fd, buf, sizeof buf);
    Pkt *k;
    int64_t t;

    if (n <= 0)
      return;
    if (drop_decision (d, p, burst)) {
      d->drop++;
      continue;
    }
    if (d->count == QUEUE_MAX) {
      d->overflow++;
      continue;
    }
    t = now_us ();
    if (rate_bps > 0 && (t = bottleneck (d, t, (size_t) n)) < 0) {
      d->qdrop++;
      continue;
    }
    k = &d->q[(d->head + d->count) % QUEUE_MAX];
    k->data = malloc ((size_t) n);
    if (!k->data)
      continue;
    memcpy (k->data, buf, (size_t) n);
    k->len = (uint16_t) n;
    k->due = t + delay_us;
    d->count++;
  }
}

/* sends what is due; returns µs until the next packet is due, or -1 */
static int64_t
flush_side (Dir * d)
{
  int64_t t = now_us ();

  while (d->count) {
    Pkt *k = &d->q[d->head];

    if (k->due > t)
      return k->due - t;
    if (write (d->out_fd, k->data, k->len) == (ssize_t) k->len)
      d->fwd++;
    else
      d->overflow++;
    free (k->data);
    d->head = (d->head + 1) % QUEUE_MAX;
    d->count--;
  }
  return -1;
}

int
main (int argc, char **argv)
{
  static Dir ab, ba;
  const char *ns_a = NULL, *ns_b = NULL;
  const char *dev_a = "impA", *dev_b = "impB";
  double delay_ms = 15, loss = 0, burst = 1;
  uint64_t seed = 1;
  int a, b, c;
  static const struct option opts[] = {
    {"ns-a", 1, 0, 'a'}, {"ns-b", 1, 0, 'b'}, {"dev-a", 1, 0, 'A'},
    {"dev-b", 1, 0, 'B'}, {"delay", 1, 0, 'd'}, {"loss", 1, 0, 'l'},
    {"burst", 1, 0, 'u'}, {"seed", 1, 0, 's'}, {"rate", 1, 0, 'r'},
    {"queue", 1, 0, 'q'}, {"help", 0, 0, 'h'},
    {"version", 0, 0, 'V'}, {0, 0, 0, 0}
  };

  while ((c = getopt_long (argc, argv, "hV", opts, NULL)) != -1) {
    switch (c) {
      case 'V':
        printf ("rtmfp-impair %s\n", VERSION);
        return 0;
      case 'a': ns_a = optarg; break;
      case 'b': ns_b = optarg; break;
      case 'A': dev_a = optarg; break;
      case 'B': dev_b = optarg; break;
      case 'd': delay_ms = atof (optarg); break;
      case 'l': loss = atof (optarg) / 100.0; break;
      case 'u': burst = atof (optarg); break;
      case 's': seed = strtoull (optarg, NULL, 0); break;
      case 'r': rate_bps = atof (optarg) * 1000.0; break;
      case 'q': queue_bytes = atof (optarg); break;
      default:
        fprintf (stderr, "usage: %s --ns-a NS --ns-b NS [--dev-a NAME] "
            "[--dev-b NAME] [--delay MS (one way, default 15)] "
            "[--loss PERCENT] [--burst MEAN_LEN] [--seed N] [--rate KBIT] "
            "[--queue BYTES] [--version]\n",
            argv[0]);
        return c == 'h' ? 0 : 2;
    }
  }
  if (!ns_a || !ns_b || loss < 0 || loss >= 1 || delay_ms < 0) {
    fprintf (stderr, "rtmfp-impair: --ns-a and --ns-b are required, "
        "0 <= loss < 100, delay >= 0\n");
    return 2;
  }
  if (rate_bps > 0 && queue_bytes <= 0)
    queue_bytes = rate_bps * 0.1 / 8 > 15000 ? rate_bps * 0.1 / 8 : 15000;
  a = tun_open_in (ns_a, dev_a);
  b = tun_open_in (ns_b, dev_b);
  ab.in_fd = a; ab.out_fd = b;
  ba.in_fd = b; ba.out_fd = a;
  /* two independent streams; a zero state would stay zero */
  ab.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
  ba.rng = (seed + 0x5bd1e995) * 0xBF58476D1CE4E5B9ULL + 7;

  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);
  signal (SIGPIPE, SIG_IGN);
  printf ("ready\n");
  fflush (stdout);

  while (!stop) {
    struct pollfd p[2] = { {a, POLLIN, 0}, {b, POLLIN, 0} };
    int64_t w1 = flush_side (&ab), w2 = flush_side (&ba), w = -1;
    struct timespec ts;

    if (w1 >= 0)
      w = w1;
    if (w2 >= 0 && (w < 0 || w2 < w))
      w = w2;
    if (w < 0)
      w = 200000;
    ts.tv_sec = w / 1000000;
    ts.tv_nsec = (w % 1000000) * 1000;
    if (ppoll (p, 2, &ts, NULL) < 0 && errno != EINTR)
      break;
    if (p[0].revents & POLLIN)
      read_side (&ab, (int64_t) (delay_ms * 1000), loss, burst);
    if (p[1].revents & POLLIN)
      read_side (&ba, (int64_t) (delay_ms * 1000), loss, burst);
  }
  printf ("stats a->b fwd=%llu drop=%llu overflow=%llu qdrop=%llu "
      "b->a fwd=%llu drop=%llu overflow=%llu qdrop=%llu\n",
      (unsigned long long) ab.fwd, (unsigned long long) ab.drop,
      (unsigned long long) ab.overflow, (unsigned long long) ab.qdrop,
      (unsigned long long) ba.fwd, (unsigned long long) ba.drop,
      (unsigned long long) ba.overflow, (unsigned long long) ba.qdrop);
  fflush (stdout);
  return 0;
}
