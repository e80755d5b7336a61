/* RTMFP core: the I/O driver (see rtmfpnet.h).
 *
 * One UDP GSocket, one thread iterating a private GMainContext with three
 * sources:
 *   - the socket source (G_IO_IN): reads every pending datagram (up to a
 *     batch limit) into rtmfp_endpoint_receive;
 *   - the timer source: ready_time = rtmfp_endpoint_next_timeout, re-armed
 *     after every event; dispatches rtmfp_endpoint_handle_timeout;
 *   - the invoke source: runs functions queued by rtmfp_net_invoke[_sync]
 *     from other threads, in FIFO order.
 * On Linux, datagrams are read with recvmmsg and the ones the endpoint
 * sends while one of these sources runs are queued and leave together
 * (sendmmsg) when it returns; sends from anywhere else leave at once.
 * Also on Linux, ICMP errors come through the socket's error queue
 * (IP_RECVERR / IPV6_RECVERR, read with MSG_ERRQUEUE): a port unreachable
 * for an address we send to is passed to the endpoint as a hint for dead
 * peer detection (rtmfp_endpoint_note_unreachable), never more.
 *
 * Thread safety:
 *   - The endpoint, its sessions and flows are touched only by the net
 *     thread while it runs (callbacks run there too).  Other threads reach
 *     them through rtmfp_net_invoke / rtmfp_net_invoke_sync.  Before start
 *     and after stop, the owner thread may use them directly.
 *   - `lock` protects the invoke queue, the running flag and the stats;
 *     `cond` signals completed synchronous invocations and thread exit.
 *   - g_source_set_ready_time and g_main_context_wakeup are thread safe,
 *     so re-arming from anywhere is fine.
 *   - The loop is driven by hand (g_main_context_iteration until `quit`)
 *     rather than with a GMainLoop: a quit requested before the thread has
 *     entered its loop cannot be lost, because the flag is checked before
 *     every iteration and the wakeup is sticky.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "rtmfp-net"

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE             /* recvmmsg, sendmmsg */
#endif

#include <string.h>
#include <gio/gnetworking.h>

/* Linux fast path: the datagrams go through the socket's descriptor with
 * recvmmsg / sendmmsg and plain sockaddrs, i.e. no GSocketAddress objects
 * per datagram and one system call per batch (bench/README.md has the
 * numbers).  Elsewhere, the portable GSocket calls. */
#if defined(__linux__)
#define RTMFP_NET_MMSG 1
#include <errno.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>        /* UDP_SEGMENT (Linux >= 4.18) */
#include <linux/errqueue.h>     /* sock_extended_err: ICMP errors */
#endif

#include "rtmfpnet.h"

/* Datagrams read per socket wakeup before yielding to timers/invokes */
#define RECV_BATCH 64
/* Largest datagram accepted (as the endpoint); one byte more is read to
 * detect truncation.  RTMFP datagrams normally stay within 1200 bytes. */
#define RECV_BUFFER 8192
/* Socket buffers asked for (bursts of a congestion window at once) */
#define SOCKET_BUFFER_BYTES (1024 * 1024)
/* A timer still due after handle_timeout is re-dispatched at once this
 * many times in a row, then held back 1 ms (protects the CPU from a core
 * bug without stalling legitimate back-to-back work). */
#define MAX_TIMER_SPINS 16
/* ICMP errors read from the socket's error queue per wakeup */
#define ERRQUEUE_BATCH 16

#ifdef RTMFP_NET_MMSG
/* Datagrams per recvmmsg call (each slot holds RECV_BUFFER + 1 bytes) */
#define RECV_MMSG 16
/* Datagrams the endpoint sends while the net thread handles one event are
 * queued here and leave in one sendmmsg when the event is done (or the
 * queue is full).  Larger datagrams (the endpoint never makes them: its
 * class is 1200 bytes) are sent on their own. */
#define SEND_MMSG 32
#define SEND_SLOT 1472
#ifdef UDP_SEGMENT
/* UDP GSO: a run of queued datagrams of one size to one address (the last
 * may be shorter) leaves as one message that the kernel cuts into those
 * datagrams (same bytes on the wire, one pass through the stack).  Kernel
 * limits: 64 segments, one UDP datagram's worth of bytes. */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000
#endif
#endif

typedef struct {
  RtmfpNetFunc func;
  gpointer data;
  GDestroyNotify destroy;
  gboolean sync;
  gboolean done;                /* sync only, under lock */
} Invocation;

struct _RtmfpNet {
  RtmfpEndpoint *ep;
  GSocket *socket;
  gboolean socket_v6;           /* IPv6 socket (maybe dual stack) */
  RtmfpAddr local_addr;
  guint16 local_port;

  GMainContext *context;
  GSource *socket_source;
  GSource *timer_source;
  GSource *invoke_source;
  GThread *thread;
  gint quit;                    /* atomic */
  guint timer_spins;            /* net thread only */
#ifdef RTMFP_NET_MMSG
  gint fd;
  /* net thread only (or the owner thread while not running) */
  guint8 *recv_bufs;            /* RECV_MMSG x (RECV_BUFFER + 1), lazily */
  guint batching;               /* > 0: net_send queues */
  guint n_out;
  guint8 (*out_bufs)[SEND_SLOT];        /* SEND_MMSG, lazily */
  struct sockaddr_in6 out_addr[SEND_MMSG];
  socklen_t out_addr_len[SEND_MMSG];
  gsize out_len[SEND_MMSG];
  gboolean no_gso;              /* the kernel/route refused UDP_SEGMENT */
#else
  guint8 recv_buf[RECV_BUFFER + 1];     /* net thread only */
#endif

  GMutex lock;
  GCond cond;
  gboolean running;             /* thread started and not yet joined */
  GQueue invocations;           /* Invocation*, pending */
  RtmfpNetStats stats;
};

/* ----------------------------- addresses ---------------------------- */

/* GSocketAddress -> RtmfpAddr; an IPv4-mapped IPv6 address (what a dual
 * stack socket reports for IPv4 peers) becomes plain IPv4. */
static gboolean
addr_from_gsocket (RtmfpAddr * out, GSocketAddress * sa)
{
  static const guint8 v4mapped[12] =
      { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  GInetAddress *ia;
  const guint8 *bytes;
  guint16 port;

  if (!G_IS_INET_SOCKET_ADDRESS (sa))
    return FALSE;
  ia = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (sa));
  bytes = g_inet_address_to_bytes (ia);
  switch (g_inet_address_get_family (ia)) {
    case G_SOCKET_FAMILY_IPV4:
      rtmfp_addr_set_ipv4 (out, bytes, port);
      return TRUE;
    case G_SOCKET_FAMILY_IPV6:
      if (memcmp (bytes, v4mapped, sizeof (v4mapped)) == 0)
        rtmfp_addr_set_ipv4 (out, bytes + 12, port);
      else
        rtmfp_addr_set_ipv6 (out, bytes, port);
      return TRUE;
    default:
      return FALSE;
  }
}

#ifndef RTMFP_NET_MMSG
/* RtmfpAddr -> GSocketAddress for this socket: IPv4 destinations are
 * mapped into IPv6 on a dual-stack socket; NULL if unreachable from it. */
static GSocketAddress *
addr_to_gsocket (RtmfpNet * net, const RtmfpAddr * a)
{
  GInetAddress *ia;
  GSocketAddress *sa;

  if (a->family == 4 && net->socket_v6) {
    guint8 mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    memcpy (mapped + 12, a->addr, 4);
    ia = g_inet_address_new_from_bytes (mapped, G_SOCKET_FAMILY_IPV6);
  } else if (a->family == 4) {
    ia = g_inet_address_new_from_bytes (a->addr, G_SOCKET_FAMILY_IPV4);
  } else if (a->family == 6 && net->socket_v6) {
    ia = g_inet_address_new_from_bytes (a->addr, G_SOCKET_FAMILY_IPV6);
  } else {
    return NULL;
  }
  sa = g_inet_socket_address_new (ia, a->port);
  g_object_unref (ia);
  return sa;
}
#endif

#ifdef RTMFP_NET_MMSG
/* sockaddr -> RtmfpAddr, IPv4-mapped IPv6 as plain IPv4 */
static gboolean
addr_from_sockaddr (RtmfpAddr * out, const struct sockaddr_storage *ss)
{
  static const guint8 v4mapped[12] =
      { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *) ss;

    rtmfp_addr_set_ipv4 (out, (const guint8 *) &in->sin_addr,
        g_ntohs (in->sin_port));
    return TRUE;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) ss;
    const guint8 *b = (const guint8 *) &in6->sin6_addr;

    if (memcmp (b, v4mapped, sizeof (v4mapped)) == 0)
      rtmfp_addr_set_ipv4 (out, b + 12, g_ntohs (in6->sin6_port));
    else
      rtmfp_addr_set_ipv6 (out, b, g_ntohs (in6->sin6_port));
    return TRUE;
  }
  return FALSE;
}

/* RtmfpAddr -> sockaddr for this socket (as addr_to_gsocket); the storage
 * is a sockaddr_in6, large enough for both families.  0 if unreachable. */
static socklen_t
addr_to_sockaddr (RtmfpNet * net, const RtmfpAddr * a,
    struct sockaddr_in6 *out)
{
  memset (out, 0, sizeof (*out));
  if (a->family == 4 && !net->socket_v6) {
    struct sockaddr_in *in = (struct sockaddr_in *) out;

    G_STATIC_ASSERT (sizeof (struct sockaddr_in) <=
        sizeof (struct sockaddr_in6));
    in->sin_family = AF_INET;
    in->sin_port = g_htons (a->port);
    memcpy (&in->sin_addr, a->addr, 4);
    return sizeof (*in);
  }
  if (a->family == 4) {
    guint8 *b = (guint8 *) & out->sin6_addr;

    out->sin6_family = AF_INET6;
    out->sin6_port = g_htons (a->port);
    b[10] = b[11] = 0xff;
    memcpy (b + 12, a->addr, 4);
    return sizeof (*out);
  }
  if (a->family == 6 && net->socket_v6) {
    out->sin6_family = AF_INET6;
    out->sin6_port = g_htons (a->port);
    memcpy (&out->sin6_addr, a->addr, 16);
    return sizeof (*out);
  }
  return 0;
}

static void
count_send_error (RtmfpNet * net)
{
  g_mutex_lock (&net->lock);
  net->stats.send_errors++;
  g_mutex_unlock (&net->lock);
}

/* Sends datagrams first..last-1 of the queue one by one (after a GSO
 * message was refused) */
static void
send_each (RtmfpNet * net, guint first, guint last)
{
  guint i;

  for (i = first; i < last; i++) {
    while (sendto (net->fd, net->out_bufs[i], net->out_len[i], MSG_DONTWAIT,
            (struct sockaddr *) &net->out_addr[i], net->out_addr_len[i]) < 0) {
      if (errno == EINTR)
        continue;
      g_debug ("sendto failed: %s", g_strerror (errno));
      count_send_error (net);
      break;
    }
  }
}

/* How many queued datagrams from `i` on can leave as one UDP GSO message:
 * same destination, same length, except that the last may be shorter */
static guint
gso_run (RtmfpNet * net, guint i, guint n)
{
  guint j = i + 1;
#ifdef UDP_SEGMENT
  gsize seg = net->out_len[i], total = seg;

  if (net->no_gso)
    return 1;
  while (j < n && j - i < GSO_MAX_SEGMENTS
      && net->out_len[j] <= seg && total + net->out_len[j] <= GSO_MAX_BYTES
      && net->out_addr_len[j] == net->out_addr_len[i]
      && memcmp (&net->out_addr[j], &net->out_addr[i],
          net->out_addr_len[i]) == 0) {
    total += net->out_len[j];
    if (net->out_len[j++] < seg)
      break;
  }
#endif
  return j - i;
}

/* Sends the queued datagrams (net thread, or owner thread when stopped) */
static void
flush_sends (RtmfpNet * net)
{
  struct mmsghdr msgs[SEND_MMSG];
  struct iovec iov[SEND_MMSG];
  guint first[SEND_MMSG + 1];   /* first datagram of each message */
#ifdef UDP_SEGMENT
  union {
    gchar buf[CMSG_SPACE (sizeof (guint16))];
    struct cmsghdr align;
  } ctl[SEND_MMSG];
#endif
  guint i, k, m = 0, n = net->n_out;

  if (n == 0)
    return;
  net->n_out = 0;
  memset (msgs, 0, sizeof (msgs[0]) * n);
  for (i = 0; i < n; i++) {
    iov[i].iov_base = net->out_bufs[i];
    iov[i].iov_len = net->out_len[i];
  }
  for (i = 0; i < n; i += msgs[m++].msg_hdr.msg_iovlen) {
    guint run = gso_run (net, i, n);

    first[m] = i;
    msgs[m].msg_hdr.msg_name = &net->out_addr[i];
    msgs[m].msg_hdr.msg_namelen = net->out_addr_len[i];
    msgs[m].msg_hdr.msg_iov = &iov[i];
    msgs[m].msg_hdr.msg_iovlen = run;
#ifdef UDP_SEGMENT
    if (run > 1) {
      struct cmsghdr *cm;
      guint16 seg = net->out_len[i];

      memset (&ctl[m], 0, sizeof (ctl[m]));
      msgs[m].msg_hdr.msg_control = ctl[m].buf;
      msgs[m].msg_hdr.msg_controllen = sizeof (ctl[m].buf);
      cm = CMSG_FIRSTHDR (&msgs[m].msg_hdr);
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN (sizeof (guint16));
      memcpy (CMSG_DATA (cm), &seg, sizeof (seg));
    }
#endif
  }
  first[m] = n;
  /* Non-blocking: a full socket buffer is loss, as on any UDP path; the
   * protocol's congestion control and retransmission deal with it.  A
   * failing datagram is counted and skipped, the rest still go. */
  k = 0;
  while (k < m) {
    int r = sendmmsg (net->fd, msgs + k, m - k, MSG_DONTWAIT);

    if (r > 0) {
      k += r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (msgs[k].msg_hdr.msg_iovlen > 1 && (errno == EIO
            || errno == EINVAL || errno == ENOPROTOOPT
            || errno == EOPNOTSUPP)) {
      /* UDP_SEGMENT refused (old kernel, no checksum offload, a path MTU
       * below the segment size...): never again on this net, and these
       * datagrams go one by one */
      g_debug ("UDP GSO refused (%s): sending datagrams one by one",
          g_strerror (errno));
      net->no_gso = TRUE;
      send_each (net, first[k], first[k + 1]);
      k++;
    } else {
      guint d;

      g_debug ("sendmmsg failed: %s", g_strerror (errno));
      for (d = first[k]; d < first[k + 1]; d++)
        count_send_error (net);       /* each datagram of the message */
      k++;
    }
  }
}

static void
batch_begin (RtmfpNet * net)
{
  net->batching++;
}

static void
batch_end (RtmfpNet * net)
{
  if (--net->batching == 0)
    flush_sends (net);
}
#else
#define batch_begin(net) G_STMT_START { (void) (net); } G_STMT_END
#define batch_end(net) G_STMT_START { (void) (net); } G_STMT_END
#endif

/* ------------------------------- timer ------------------------------ */

/* Called on the net thread (or the owner thread when not running) after
 * anything that may have changed the endpoint's timers. */
static void
rearm_timer (RtmfpNet * net)
{
  gint64 t = rtmfp_endpoint_next_timeout (net->ep);

  /* GSource ready times are on the g_get_monotonic_time clock, which is
   * the clock we hand the core: no conversion. */
  g_source_set_ready_time (net->timer_source, t < 0 ? -1 : t);
}

static gboolean
timer_dispatch (GSource * source, GSourceFunc callback, gpointer user_data)
{
  RtmfpNet *net = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 t;

  g_source_set_ready_time (source, -1);
  batch_begin (net);
  rtmfp_endpoint_handle_timeout (net->ep, now);
  batch_end (net);

  t = rtmfp_endpoint_next_timeout (net->ep);
  if (t >= 0 && t <= now) {
    if (++net->timer_spins > MAX_TIMER_SPINS) {
      if (net->timer_spins == MAX_TIMER_SPINS + 1)
        g_warning ("endpoint timer stays due after handle_timeout; "
            "throttling to 1 ms");
      g_source_set_ready_time (source, now + 1000);
      return G_SOURCE_CONTINUE;
    }
  } else {
    net->timer_spins = 0;
  }
  g_source_set_ready_time (source, t < 0 ? -1 : t);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
  NULL, NULL, timer_dispatch, NULL, NULL, NULL
};

/* ------------------------------ sockets ----------------------------- */

#ifdef RTMFP_NET_MMSG
static void
net_send (const guint8 * data, gsize len, const RtmfpAddr * to,
    gpointer user_data)
{
  RtmfpNet *net = user_data;
  struct sockaddr_in6 sa;
  socklen_t sa_len = addr_to_sockaddr (net, to, &sa);
  guint i;

  if (sa_len == 0) {
    count_send_error (net);
    return;
  }
  if (net->batching == 0 || len > SEND_SLOT) {
    /* Outside the net thread's event handling (e.g. from a source the
     * user attached to our context), or too big for a slot: at once,
     * after anything already queued. */
    flush_sends (net);
    while (sendto (net->fd, data, len, MSG_DONTWAIT,
            (struct sockaddr *) &sa, sa_len) < 0) {
      if (errno == EINTR)
        continue;
      g_debug ("sendto failed: %s", g_strerror (errno));
      count_send_error (net);
      break;
    }
    return;
  }
  if (net->out_bufs == NULL)
    net->out_bufs = g_malloc (SEND_MMSG * SEND_SLOT);
  i = net->n_out++;
  memcpy (net->out_bufs[i], data, len);
  net->out_len[i] = len;
  net->out_addr[i] = sa;
  net->out_addr_len[i] = sa_len;
  if (net->n_out == SEND_MMSG)
    flush_sends (net);
}
#else
static void
net_send (const guint8 * data, gsize len, const RtmfpAddr * to,
    gpointer user_data)
{
  RtmfpNet *net = user_data;
  GSocketAddress *sa;
  GError *err = NULL;
  gssize r;

  sa = addr_to_gsocket (net, to);
  if (sa == NULL) {
    g_mutex_lock (&net->lock);
    net->stats.send_errors++;
    g_mutex_unlock (&net->lock);
    return;
  }
  /* Non-blocking: a full socket buffer is loss, as on any UDP path; the
   * protocol's congestion control and retransmission deal with it. */
  r = g_socket_send_to (net->socket, sa, (const gchar *) data, len, NULL,
      &err);
  if (r < 0) {
    g_debug ("send_to failed: %s", err->message);
    g_clear_error (&err);
    g_mutex_lock (&net->lock);
    net->stats.send_errors++;
    g_mutex_unlock (&net->lock);
  }
  g_object_unref (sa);
}
#endif

#ifdef RTMFP_NET_MMSG
static void
count_receive_error (RtmfpNet * net)
{
  g_mutex_lock (&net->lock);
  net->stats.receive_errors++;
  g_mutex_unlock (&net->lock);
}

/* Reads the socket's error queue (IP_RECVERR): each ICMP (or ICMPv6) port
 * unreachable names the destination of the datagram that caused it. */
static void
read_error_queue (RtmfpNet * net)
{
  guint n;

  for (n = 0; n < ERRQUEUE_BATCH; n++) {
    struct sockaddr_storage ss;
    union {
      struct cmsghdr align;
      guint8 buf[256];
    } ctrl;
    guint8 data[64];
    struct iovec iov = { data, sizeof data };
    struct msghdr mh;
    struct cmsghdr *c;

    memset (&mh, 0, sizeof mh);
    mh.msg_name = &ss;
    mh.msg_namelen = sizeof ss;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl.buf;
    mh.msg_controllen = sizeof ctrl.buf;
    if (recvmsg (net->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
      break;                    /* EAGAIN: empty */
    for (c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c)) {
      struct sock_extended_err ee;
      RtmfpAddr to;
      gboolean unreachable;

      if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
              (c->cmsg_level == IPPROTO_IPV6 &&
                  c->cmsg_type == IPV6_RECVERR)) ||
          c->cmsg_len < CMSG_LEN (sizeof ee))
        continue;
      memcpy (&ee, CMSG_DATA (c), sizeof ee);
      /* ICMP destination unreachable / port unreachable (RFC 792);
       * ICMPv6 destination unreachable / port unreachable (RFC 4443) */
      unreachable = (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 &&
          ee.ee_code == 3) || (ee.ee_origin == SO_EE_ORIGIN_ICMP6 &&
          ee.ee_type == 1 && ee.ee_code == 4);
      if (!unreachable || mh.msg_namelen == 0 ||
          mh.msg_namelen > sizeof ss || !addr_from_sockaddr (&to, &ss))
        continue;
      g_mutex_lock (&net->lock);
      net->stats.icmp_unreachable++;
      g_mutex_unlock (&net->lock);
      rtmfp_endpoint_note_unreachable (net->ep, &to,
          g_get_monotonic_time ());
    }
  }
}

static gboolean
socket_readable (GSocket * socket, GIOCondition cond, gpointer user_data)
{
  RtmfpNet *net = user_data;
  struct mmsghdr msgs[RECV_MMSG];
  struct iovec iov[RECV_MMSG];
  struct sockaddr_storage from_ss[RECV_MMSG];
  guint done = 0, i;

  if (net->recv_bufs == NULL)
    net->recv_bufs = g_malloc (RECV_MMSG * (RECV_BUFFER + 1));

  batch_begin (net);
  if (cond & G_IO_ERR)
    read_error_queue (net);
  while (done < RECV_BATCH) {
    guint want = MIN (RECV_MMSG, RECV_BATCH - done);
    int r;

    memset (msgs, 0, sizeof (msgs[0]) * want);
    for (i = 0; i < want; i++) {
      iov[i].iov_base = net->recv_bufs + i * (RECV_BUFFER + 1);
      iov[i].iov_len = RECV_BUFFER + 1;
      msgs[i].msg_hdr.msg_name = &from_ss[i];
      msgs[i].msg_hdr.msg_namelen = sizeof (from_ss[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    r = recvmmsg (net->fd, msgs, want, MSG_DONTWAIT, NULL);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;                  /* drained */
      /* e.g. ICMP errors reported on the socket: not fatal; with
       * IP_RECVERR their details wait in the error queue */
      if (errno != EINTR) {
        g_debug ("recvmmsg: %s", g_strerror (errno));
        count_receive_error (net);
        read_error_queue (net);
      }
      done++;                   /* bounded even if errors keep coming */
      continue;
    }
    for (i = 0; i < (guint) r; i++) {
      RtmfpAddr from;
      gsize n = msgs[i].msg_len;

      if (n > RECV_BUFFER || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
          || msgs[i].msg_hdr.msg_namelen == 0
          || msgs[i].msg_hdr.msg_namelen > sizeof (from_ss[i])
          || !addr_from_sockaddr (&from, &from_ss[i])) {
        count_receive_error (net);
        continue;
      }
      rtmfp_endpoint_receive (net->ep, iov[i].iov_base, n, &from,
          g_get_monotonic_time ());
    }
    done += r;
    if ((guint) r < want)
      break;                    /* most likely drained; poll tells */
  }
  batch_end (net);

  rearm_timer (net);
  return G_SOURCE_CONTINUE;
}
#else
static gboolean
socket_readable (GSocket * socket, GIOCondition cond, gpointer user_data)
{
  RtmfpNet *net = user_data;
  guint8 *buf = net->recv_buf;
  guint i;

  for (i = 0; i < RECV_BATCH; i++) {
    GSocketAddress *sa = NULL;
    GError *err = NULL;
    RtmfpAddr from;
    gssize n;

    n = g_socket_receive_from (socket, &sa, (gchar *) buf, RECV_BUFFER + 1,
        NULL, &err);
    if (n < 0) {
      gboolean drained = g_error_matches (err, G_IO_ERROR,
          G_IO_ERROR_WOULD_BLOCK);

      if (!drained) {
        /* e.g. ICMP errors reported on the socket: not fatal */
        g_debug ("receive_from: %s", err->message);
        g_mutex_lock (&net->lock);
        net->stats.receive_errors++;
        g_mutex_unlock (&net->lock);
      }
      g_clear_error (&err);
      g_clear_object (&sa);
      if (drained)
        break;
      continue;
    }
    if (n > RECV_BUFFER || sa == NULL || !addr_from_gsocket (&from, sa)) {
      g_mutex_lock (&net->lock);
      net->stats.receive_errors++;
      g_mutex_unlock (&net->lock);
      g_clear_object (&sa);
      continue;
    }
    g_object_unref (sa);
    rtmfp_endpoint_receive (net->ep, buf, n, &from, g_get_monotonic_time ());
  }

  rearm_timer (net);
  return G_SOURCE_CONTINUE;
}
#endif

static GSocket *
make_socket (GInetAddress * bind_ia, guint16 port, gboolean dual_stack,
    GError ** error)
{
  GSocketFamily family = g_inet_address_get_family (bind_ia);
  GSocketAddress *sa;
  GSocket *sock;

  sock = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, error);
  if (sock == NULL)
    return NULL;
  if (dual_stack && family == G_SOCKET_FAMILY_IPV6 &&
      !g_socket_set_option (sock, IPPROTO_IPV6, IPV6_V6ONLY, 0, NULL)) {
    /* No dual stack here: the caller falls back to IPv4 */
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "no dual-stack IPv6 socket");
    g_object_unref (sock);
    return NULL;
  }
  g_socket_set_blocking (sock, FALSE);
#ifdef RTMFP_NET_MMSG
  /* ICMP errors to the error queue, with the destination they concern
   * (best effort; a dual-stack socket hears about IPv4 peers through
   * IP_RECVERR) */
  if (family == G_SOCKET_FAMILY_IPV6)
    g_socket_set_option (sock, IPPROTO_IPV6, IPV6_RECVERR, 1, NULL);
  g_socket_set_option (sock, IPPROTO_IP, IP_RECVERR, 1, NULL);
#endif
  /* Best effort; the kernel may cap these */
  g_socket_set_option (sock, SOL_SOCKET, SO_RCVBUF, SOCKET_BUFFER_BYTES,
      NULL);
  g_socket_set_option (sock, SOL_SOCKET, SO_SNDBUF, SOCKET_BUFFER_BYTES,
      NULL);

  sa = g_inet_socket_address_new (bind_ia, port);
  if (!g_socket_bind (sock, sa, FALSE, error)) {
    g_object_unref (sa);
    g_object_unref (sock);
    return NULL;
  }
  g_object_unref (sa);
  return sock;
}

/* Literal addresses, or a name resolved (blocking) at creation time */
static GInetAddress *
resolve_bind_address (const gchar * address, GError ** error)
{
  GInetAddress *ia = g_inet_address_new_from_string (address);
  GResolver *resolver;
  GList *list;

  if (ia)
    return ia;
  resolver = g_resolver_get_default ();
  list = g_resolver_lookup_by_name (resolver, address, NULL, error);
  g_object_unref (resolver);
  if (list == NULL)
    return NULL;
  ia = g_object_ref (list->data);
  g_resolver_free_addresses (list);
  return ia;
}

static GSocket *
open_socket (const gchar * address, guint16 port, gboolean * is_v6,
    GError ** error)
{
  GInetAddress *ia;
  GSocket *sock;
  GError *err = NULL;

  if (address == NULL || *address == '\0' || g_str_equal (address, "::")) {
    /* Any: dual-stack IPv6 where possible, else IPv4 */
    ia = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
    sock = make_socket (ia, port, TRUE, &err);
    g_object_unref (ia);
    if (sock) {
      *is_v6 = TRUE;
      return sock;
    }
    g_debug ("IPv6 dual stack unavailable (%s), using IPv4", err->message);
    g_clear_error (&err);
    ia = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  } else {
    ia = resolve_bind_address (address, error);
    if (ia == NULL)
      return NULL;
  }
  *is_v6 = g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV6;
  sock = make_socket (ia, port, FALSE, error);
  g_object_unref (ia);
  return sock;
}

/* ------------------------------ invoke ------------------------------ */

static void
invocation_finish (RtmfpNet * net, Invocation * inv)
{
  if (inv->sync) {
    g_mutex_lock (&net->lock);
    inv->done = TRUE;           /* inv belongs to the waiter from here on */
    g_cond_broadcast (&net->cond);
    g_mutex_unlock (&net->lock);
  } else {
    if (inv->destroy)
      inv->destroy (inv->data);
    g_free (inv);
  }
}

static gboolean
invoke_dispatch (GSource * source, GSourceFunc callback, gpointer user_data)
{
  RtmfpNet *net = user_data;

  g_source_set_ready_time (source, -1);
  for (;;) {
    Invocation *inv;

    g_mutex_lock (&net->lock);
    inv = g_queue_pop_head (&net->invocations);
    g_mutex_unlock (&net->lock);
    if (inv == NULL)
      break;
    batch_begin (net);
    inv->func (net, inv->data);
    batch_end (net);            /* sent before a synchronous caller returns */
    invocation_finish (net, inv);
  }
  rearm_timer (net);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs invoke_funcs = {
  NULL, NULL, invoke_dispatch, NULL, NULL, NULL
};

void
rtmfp_net_invoke (RtmfpNet * net, RtmfpNetFunc func, gpointer data,
    GDestroyNotify destroy)
{
  Invocation *inv;

  g_return_if_fail (net != NULL);
  g_return_if_fail (func != NULL);

  inv = g_new0 (Invocation, 1);
  inv->func = func;
  inv->data = data;
  inv->destroy = destroy;
  g_mutex_lock (&net->lock);
  g_queue_push_tail (&net->invocations, inv);
  g_mutex_unlock (&net->lock);
  g_source_set_ready_time (net->invoke_source, 0);
}

void
rtmfp_net_invoke_sync (RtmfpNet * net, RtmfpNetFunc func, gpointer data)
{
  Invocation inv = { func, data, NULL, TRUE, FALSE };

  g_return_if_fail (net != NULL);
  g_return_if_fail (func != NULL);

  g_mutex_lock (&net->lock);
  if (!net->running || g_thread_self () == net->thread) {
    /* Nobody else drives the endpoint (or we are the net thread: waiting
     * would deadlock): run here. */
    g_mutex_unlock (&net->lock);
    batch_begin (net);
    func (net, data);
    batch_end (net);
    rearm_timer (net);
    return;
  }
  g_queue_push_tail (&net->invocations, &inv);
  g_mutex_unlock (&net->lock);
  g_source_set_ready_time (net->invoke_source, 0);

  g_mutex_lock (&net->lock);
  while (!inv.done) {
    if (!net->running && g_queue_remove (&net->invocations, &inv)) {
      /* Stopped before our turn came: the endpoint is ours again. */
      g_mutex_unlock (&net->lock);
      batch_begin (net);
      func (net, data);
      batch_end (net);
      rearm_timer (net);
      return;
    }
    g_cond_wait (&net->cond, &net->lock);
  }
  g_mutex_unlock (&net->lock);
}

/* ------------------------------ thread ------------------------------ */

static gpointer
net_thread (gpointer user_data)
{
  RtmfpNet *net = user_data;

  g_main_context_push_thread_default (net->context);
  rearm_timer (net);
  while (!g_atomic_int_get (&net->quit))
    g_main_context_iteration (net->context, TRUE);
  g_main_context_pop_thread_default (net->context);
  return NULL;
}

/* ------------------------------- API -------------------------------- */

RtmfpNet *
rtmfp_net_new (const RtmfpEndpointConfig * cfg,
    const RtmfpEndpointCallbacks * callbacks, gpointer user_data,
    const gchar * address, guint16 port, GError ** error)
{
  RtmfpNet *net;
  GSocket *sock;
  GSocketAddress *local;
  gboolean is_v6 = FALSE;

  g_return_val_if_fail (cfg != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sock = open_socket (address, port, &is_v6, error);
  if (sock == NULL)
    return NULL;

  net = g_new0 (RtmfpNet, 1);
  g_mutex_init (&net->lock);
  g_cond_init (&net->cond);
  g_queue_init (&net->invocations);
  net->socket = sock;
  net->socket_v6 = is_v6;
#ifdef RTMFP_NET_MMSG
  net->fd = g_socket_get_fd (sock);
#endif

  local = g_socket_get_local_address (sock, NULL);
  if (local) {
    addr_from_gsocket (&net->local_addr, local);
    net->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
        (local));
    g_object_unref (local);
  }

  net->ep = rtmfp_endpoint_new (cfg, callbacks, user_data, net_send, net);
  if (net->ep == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "could not create the RTMFP endpoint");
    g_object_unref (net->socket);
    g_mutex_clear (&net->lock);
    g_cond_clear (&net->cond);
    g_free (net);
    return NULL;
  }

  net->context = g_main_context_new ();

  net->socket_source = g_socket_create_source (sock, G_IO_IN | G_IO_ERR,
      NULL);
  g_source_set_callback (net->socket_source, G_SOURCE_FUNC (socket_readable),
      net, NULL);
  g_source_attach (net->socket_source, net->context);

  net->timer_source = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_callback (net->timer_source, NULL, net, NULL);
  g_source_set_ready_time (net->timer_source, -1);
  g_source_attach (net->timer_source, net->context);

  net->invoke_source = g_source_new (&invoke_funcs, sizeof (GSource));
  g_source_set_callback (net->invoke_source, NULL, net, NULL);
  g_source_set_ready_time (net->invoke_source, -1);
  g_source_attach (net->invoke_source, net->context);

  return net;
}

void
rtmfp_net_start (RtmfpNet * net)
{
  g_return_if_fail (net != NULL);

  g_mutex_lock (&net->lock);
  if (net->running) {
    g_mutex_unlock (&net->lock);
    return;
  }
  net->running = TRUE;
  g_atomic_int_set (&net->quit, 0);
  net->thread = g_thread_new ("rtmfp-net", net_thread, net);
  g_mutex_unlock (&net->lock);
}

void
rtmfp_net_stop (RtmfpNet * net)
{
  GThread *thread;

  g_return_if_fail (net != NULL);

  g_mutex_lock (&net->lock);
  thread = net->thread;
  if (thread == NULL || !net->running) {
    g_mutex_unlock (&net->lock);
    return;
  }
  if (thread == g_thread_self ()) {
    g_mutex_unlock (&net->lock);
    g_critical ("rtmfp_net_stop called from the net thread");
    return;
  }
  g_mutex_unlock (&net->lock);

  g_atomic_int_set (&net->quit, 1);
  g_main_context_wakeup (net->context);
  g_thread_join (thread);

  g_mutex_lock (&net->lock);
  net->thread = NULL;
  net->running = FALSE;
  /* Wake synchronous invokers whose turn will not come */
  g_cond_broadcast (&net->cond);
  g_mutex_unlock (&net->lock);
}

void
rtmfp_net_free (RtmfpNet * net)
{
  Invocation *inv;

  if (net == NULL)
    return;

  rtmfp_net_stop (net);

  /* Pending asynchronous invocations never run; release their data.
   * (Synchronous ones cannot be pending: their callers would be blocked
   * in invoke_sync, which is a use-after-free race of the caller.) */
  while ((inv = g_queue_pop_head (&net->invocations))) {
    if (inv->sync) {
      g_critical ("rtmfp_net_free with a pending rtmfp_net_invoke_sync");
      continue;
    }
    if (inv->destroy)
      inv->destroy (inv->data);
    g_free (inv);
  }

  g_source_destroy (net->socket_source);
  g_source_unref (net->socket_source);
  g_source_destroy (net->timer_source);
  g_source_unref (net->timer_source);
  g_source_destroy (net->invoke_source);
  g_source_unref (net->invoke_source);

  rtmfp_endpoint_free (net->ep);
#ifdef RTMFP_NET_MMSG
  flush_sends (net);            /* nothing should be queued; be safe */
  g_free (net->out_bufs);
  g_free (net->recv_bufs);
#endif
  g_socket_close (net->socket, NULL);
  g_object_unref (net->socket);
  g_main_context_unref (net->context);
  g_mutex_clear (&net->lock);
  g_cond_clear (&net->cond);
  g_free (net);
}

guint16
rtmfp_net_get_local_port (RtmfpNet * net)
{
  g_return_val_if_fail (net != NULL, 0);

  return net->local_port;
}

gboolean
rtmfp_net_get_local_address (RtmfpNet * net, RtmfpAddr * out)
{
  g_return_val_if_fail (net != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (net->local_addr.family == 0)
    return FALSE;
  *out = net->local_addr;
  return TRUE;
}

GMainContext *
rtmfp_net_get_context (RtmfpNet * net)
{
  g_return_val_if_fail (net != NULL, NULL);

  return net->context;
}

RtmfpEndpoint *
rtmfp_net_get_endpoint (RtmfpNet * net)
{
  g_return_val_if_fail (net != NULL, NULL);

  return net->ep;
}

gint64
rtmfp_net_now (RtmfpNet * net)
{
  return g_get_monotonic_time ();
}

/* IP mobility (RFC 7016 3.5.4.2): a new UDP socket on a new ephemeral
 * port of the same local address replaces the old one.  The sessions are
 * untouched: their next packets leave from the new port, and the far end
 * validates the new address (its echo of our nonce) and moves the
 * session there.  Net thread (or while the thread is not running). */
gboolean
rtmfp_net_rebind (RtmfpNet * net, GError ** error)
{
  GSocketAddress *local;
  GInetAddress *ia;
  GSocket *sock;
  gboolean dual;

  g_return_val_if_fail (net != NULL, FALSE);

  local = g_socket_get_local_address (net->socket, error);
  if (local == NULL)
    return FALSE;
  ia = g_object_ref (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (local)));
  g_object_unref (local);
  dual = net->socket_v6 && g_inet_address_get_is_any (ia);
  sock = make_socket (ia, 0, dual, error);
  g_object_unref (ia);
  if (sock == NULL)
    return FALSE;

#ifdef RTMFP_NET_MMSG
  flush_sends (net);            /* what is queued leaves from the old port */
#endif
  g_source_destroy (net->socket_source);
  g_source_unref (net->socket_source);
  g_socket_close (net->socket, NULL);
  g_object_unref (net->socket);

  local = g_socket_get_local_address (sock, NULL);
  g_mutex_lock (&net->lock);
  net->socket = sock;
#ifdef RTMFP_NET_MMSG
  net->fd = g_socket_get_fd (sock);
#endif
  if (local) {
    addr_from_gsocket (&net->local_addr, local);
    net->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
        (local));
  }
  g_mutex_unlock (&net->lock);
  g_clear_object (&local);

  net->socket_source = g_socket_create_source (sock, G_IO_IN | G_IO_ERR,
      NULL);
  g_source_set_callback (net->socket_source, G_SOURCE_FUNC (socket_readable),
      net, NULL);
  g_source_attach (net->socket_source, net->context);
  g_debug ("rebound to local port %u", net->local_port);
  return TRUE;
}

void
rtmfp_net_get_stats (RtmfpNet * net, RtmfpNetStats * st)
{
  g_return_if_fail (net != NULL);
  g_return_if_fail (st != NULL);

  g_mutex_lock (&net->lock);
  *st = net->stats;
  g_mutex_unlock (&net->lock);
}
