/*
 * The physical floor of the bench's echo and request/response scenarios: a UDP echo server in C,
 * one recvmmsg for whatever is queued, one sendmsg per reply, no event loop, no runtime. The
 * bench compiles it with the machine's cc at run time (lib/bench/floor.js) and runs it where a
 * JS server would run, with the same protocol as lib/bench/child.js's receiver:
 *
 *   floor-echo WARMUP_MS WINDOW_MS
 *
 * stdout: {"type":"ready","ports":[P]} once bound to 127.0.0.1; at the end of stdin,
 * {"type":"done",...} with the window's count and CPU. The window opens WARMUP_MS after the first
 * datagram and lasts WINDOW_MS (0: no window). Times are CLOCK_MONOTONIC ns, as in the bench.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define VLEN 64
#define BUF 2048

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int main(int argc, char **argv) {
  long long warmup_ns = (argc > 1 ? atoll(argv[1]) : 0) * 1000000LL;
  long long window_ns = (argc > 2 ? atoll(argv[2]) : 0) * 1000000LL;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
    printf("{\"type\":\"error\",\"message\":\"floor-echo: socket/bind failed\"}\n");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("{\"type\":\"ready\",\"ports\":[%d]}\n", ntohs(addr.sin_port));

  static char data[VLEN][BUF];
  struct iovec iov[VLEN];
  struct sockaddr_in peers[VLEN];
  struct mmsghdr msgs[VLEN];
  long long count = 0, first_at = 0, t0 = 0, t1 = 0, count0 = 0, count1 = 0, cpu0 = 0, cpu1 = 0, errors = 0;
  struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
  for (;;) {
    long long now = now_ns();
    if (first_at && !t0 && now >= first_at + warmup_ns) { t0 = now; count0 = count; cpu0 = cpu_us(); }
    if (t0 && !t1 && window_ns && now >= t0 + window_ns) { t1 = now; count1 = count; cpu1 = cpu_us(); }
    int timeout = 100;
    if (first_at && !t0) timeout = 1;
    if (t0 && !t1 && window_ns) timeout = 1;
    if (poll(pfd, 2, timeout) < 0) continue;
    if (pfd[1].revents) {
      char b[256];
      if (read(0, b, sizeof b) <= 0) break; /* the parent's "stop" */
    }
    if (!pfd[0].revents) continue;
    for (;;) {
      for (int i = 0; i < VLEN; i++) {
        iov[i].iov_base = data[i];
        iov[i].iov_len = BUF;
        memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &peers[i];
        msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
      }
      int n = recvmmsg(fd, msgs, VLEN, MSG_DONTWAIT, NULL);
      if (n <= 0) break;
      if (!first_at) first_at = now_ns();
      for (int i = 0; i < n; i++) {
        iov[i].iov_len = msgs[i].msg_len;
        struct msghdr h = { .msg_name = &peers[i], .msg_namelen = msgs[i].msg_hdr.msg_namelen, .msg_iov = &iov[i], .msg_iovlen = 1 };
        if (sendmsg(fd, &h, 0) < 0) errors++;
      }
      count += n;
      if (n < VLEN) break;
    }
  }
  long long end = now_ns();
  if (t0 && !t1) { t1 = end; count1 = count; cpu1 = cpu_us(); }
  if (t0) {
    printf("{\"type\":\"done\",\"total\":%lld,\"errors\":%lld,\"t0\":%lld,\"t1\":%lld,\"count\":%lld,\"cpuUs\":%lld,\"firstAt\":%lld}\n",
           count, errors, t0, t1, count1 - count0, cpu1 - cpu0, first_at);
  } else {
    printf("{\"type\":\"done\",\"total\":%lld,\"errors\":%lld,\"firstAt\":%lld}\n", count, errors, first_at);
  }
  return 0;
}
