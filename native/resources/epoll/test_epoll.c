// epoll's state across a checkpoint and restore. One instance holds: a
// level-triggered watch of a ready pipe; an edge-triggered one whose event is
// pending, and one whose event was collected already (ready, but no new edge);
// a fired EPOLLONESHOT (disarmed) and an armed one; an EPOLLEXCLUSIVE
// edge-triggered one with its event pending; a watch whose fd was dup'ed and
// closed, its number reused by another file; a 64-bit data value and
// EPOLLRDHUP|EPOLLPRI. Two more instances nest it (2 deep). A thread is blocked
// in epoll_wait on a fourth, woken by a write after the restore.
// Checked: each instance's watches (fdinfo's tfd, events, data), which events
// are reported and how often, the nesting, the fds around the closed one.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "epoll PASS" or what changed; "perturb": removes a watch itself first (the
// check must then fail); "shared": holds an instance twice (dup), refused.
// Refused at checkpoint, the job running on with its state (test/kinds.test.ts
// reads these lines):
// refused "unready": a fired one-shot watch of fd \d+ whose file is ready for no event
// refused "twins": two watches with one data value, an event pending
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_KIND "epoll"
#include "../files/fd_state_check.h"

#define BIG 0xdeadbeefcafef00dULL

static int blockedEp;
static uint64_t woken;

static void* waiter(void* arg) {
  (void)arg;
  struct epoll_event ev;
  int n;
  while ((n = epoll_wait(blockedEp, &ev, 1, -1)) < 0 && errno == EINTR) {}
  woken = n == 1 ? ev.data.u64 : 0;
  return 0;
}

static void watch(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) perror("epoll_ctl"), exit(1);
}

// fdinfo's watch lines, "tfd events data" each, sorted (pos, ino and sdev are
// the files', which a restore makes anew)
static void watches(int ep, char* out, size_t n) {
  char path[64], line[256], rows[32][64];
  int k = 0;
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ep);
  FILE* f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f) && k < 32) {
    int tfd;
    unsigned events;
    unsigned long long data;
    if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) == 3)
      snprintf(rows[k++], sizeof rows[0], "%d:%x:%llx", tfd, events, data);
  }
  if (f) fclose(f);
  qsort(rows, (size_t)k, sizeof rows[0], (int (*)(const void*, const void*))strcmp);
  out[0] = 0;
  for (int i = 0; i < k; i++) snprintf(out + strlen(out), n - strlen(out), "%s ", rows[i]);
}

// the data values epoll_wait(timeout 0) reports, sorted, as text
static void reported(int ep, char* out, size_t n) {
  struct epoll_event evs[16];
  int got = epoll_wait(ep, evs, 16, 0);
  unsigned long long d[16];
  for (int i = 0; i < got; i++) d[i] = evs[i].data.u64;
  for (int i = 0; i < got; i++)
    for (int j = i + 1; j < got; j++)
      if (d[j] < d[i]) {
        unsigned long long t = d[i];
        d[i] = d[j], d[j] = t;
      }
  out[0] = 0;
  if (got < 0) snprintf(out, n, "error %d", errno);
  for (int i = 0; i < got; i++) snprintf(out + strlen(out), n - strlen(out), "%llx ", d[i]);
}

int main(int argc, char** argv) {
  const int perturb = argc > 1 && !strcmp(argv[1], "perturb");
  const int shared = argc > 1 && !strcmp(argv[1], "shared");
  int level[2], edgePending[2], edgeTaken[2], writable[2], quiet[2];
  if (pipe(level) || pipe(edgePending) || pipe(edgeTaken) || pipe(writable) || pipe(quiet)) return perror("pipe"), 1;
  int fired = eventfd(1, EFD_NONBLOCK), armed = eventfd(0, EFD_NONBLOCK), exclusive = eventfd(1, EFD_NONBLOCK);
  int a = epoll_create1(EPOLL_CLOEXEC);
  if (write(level[1], "x", 1) != 1 || write(edgeTaken[1], "y", 1) != 1) return 1;
  watch(a, level[0], EPOLLIN, 0x101);
  watch(a, edgeTaken[0], EPOLLIN | EPOLLET, 0x103);
  watch(a, fired, EPOLLIN | EPOLLONESHOT, 0x104);
  struct epoll_event evs[8];
  if (epoll_wait(a, evs, 8, 0) != 3) return fprintf(stderr, "setup: not 3 events\n"), 1;  // 0x103 collected, 0x104 fired
  watch(a, edgePending[0], EPOLLIN | EPOLLET, 0x102);
  if (write(edgePending[1], "z", 1) != 1) return 1;
  watch(a, armed, EPOLLIN | EPOLLONESHOT, 0x105);
  watch(a, exclusive, EPOLLIN | EPOLLET | EPOLLEXCLUSIVE, 0x106);
  // a watch of an fd closed since (its file lives on in a dup), its number reused
  int gone = dup(writable[1]);
  watch(a, gone, EPOLLOUT, 0x107);
  int alive = dup(gone);
  close(gone);
  int reused = open("/dev/null", O_RDONLY);  // takes the number `gone` had
  if (reused != gone) return fprintf(stderr, "setup: the number was not reused\n"), 1;
  watch(a, quiet[0], EPOLLIN | EPOLLRDHUP | EPOLLPRI, BIG);
  int b = epoll_create1(0), c = epoll_create1(EPOLL_CLOEXEC);
  watch(b, a, EPOLLIN, 0x201);
  watch(c, b, EPOLLIN, 0x301);
  blockedEp = epoll_create1(0);
  int wake = eventfd(0, EFD_NONBLOCK);
  watch(blockedEp, wake, EPOLLIN, 0x401);
  if (shared && dup(a) < 0) return perror("dup"), 1;
  // a fired one-shot whose (empty) pipe is ready for nothing
  int unready[2], twinsEp = -1;
  if (argc > 1 && !strcmp(argv[1], "unready")) {
    if (pipe(unready) || write(unready[1], "u", 1) != 1) return 1;
    watch(blockedEp, unready[0], EPOLLIN | EPOLLONESHOT, 0x501);
    char u;
    if (epoll_wait(blockedEp, evs, 8, 0) != 1 || read(unready[0], &u, 1) != 1) return fprintf(stderr, "setup: unready\n"), 1;
  }
  // two edge-triggered watches of one data value, both pending (left as they were)
  if (argc > 1 && !strcmp(argv[1], "twins")) {
    twinsEp = epoll_create1(0);
    watch(twinsEp, eventfd(1, 0), EPOLLIN | EPOLLET, 0x555);
    watch(twinsEp, eventfd(1, 0), EPOLLIN | EPOLLET, 0x555);
  }
  char before[4][1024];
  watches(a, before[0], sizeof before[0]);
  watches(b, before[1], sizeof before[1]);
  watches(c, before[2], sizeof before[2]);
  watches(blockedEp, before[3], sizeof before[3]);
  pthread_t t;
  pthread_create(&t, 0, waiter, 0);
  usleep(100000);  // the thread is in its epoll_wait
  if (!readyThenGo()) return 1;

  if (perturb) epoll_ctl(a, EPOLL_CTL_DEL, level[0], 0);
  char now[1024];
  const int eps[4] = {a, b, c, blockedEp};
  for (int i = 0; i < 4; i++) {
    watches(eps[i], now, sizeof now);
    CHECK(!strcmp(now, before[i]), "instance %d's watches are '%s', were '%s'", i, now, before[i]);
  }
  CHECK(fcntl(a, F_GETFD) & FD_CLOEXEC, "close-on-exec lost");
  CHECK(!(fcntl(b, F_GETFD) & FD_CLOEXEC), "close-on-exec set");
  // the nesting first (polling an instance takes nothing off its list)
  reported(c, now, sizeof now);
  CHECK(!strcmp(now, "301 "), "the outer instance reports '%s'", now);
  reported(b, now, sizeof now);
  CHECK(!strcmp(now, "201 "), "the middle instance reports '%s'", now);
  // the pending edges once, the levels every time, the collected edge and the
  // fired one-shot never
  reported(a, now, sizeof now);
  CHECK(!strcmp(now, "101 102 106 107 "), "reported '%s', not '101 102 106 107 '", now);
  reported(a, now, sizeof now);
  CHECK(!strcmp(now, "101 107 "), "then '%s', not '101 107 '", now);
  // the fired one-shot re-armed reports; the armed one reports once
  struct epoll_event again = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x104};
  CHECK(epoll_ctl(a, EPOLL_CTL_MOD, fired, &again) == 0, "cannot re-arm the fired one-shot");
  uint64_t one = 1;
  CHECK(write(armed, &one, sizeof one) == sizeof one, "cannot write the armed one");
  reported(a, now, sizeof now);
  CHECK(!strcmp(now, "101 104 105 107 "), "after re-arming: '%s'", now);
  reported(a, now, sizeof now);
  CHECK(!strcmp(now, "101 107 "), "the one-shots reported twice: '%s'", now);
  // the fds around the closed one: the reused number is /dev/null, the dup the pipe
  struct stat st, null;
  stat("/dev/null", &null);
  CHECK(fstat(reused, &st) == 0 && st.st_rdev == null.st_rdev, "fd %d is not /dev/null", reused);
  CHECK(write(alive, "w", 1) == 1, "the dup of the watched pipe cannot write");
  // an edge after the restore is reported
  CHECK(write(edgeTaken[1], "y", 1) == 1, "cannot write");
  reported(a, now, sizeof now);
  CHECK(!strcmp(now, "101 103 107 "), "a new edge: '%s'", now);
  if (twinsEp >= 0) {
    reported(twinsEp, now, sizeof now);
    CHECK(!strcmp(now, "555 555 "), "the twins report '%s'", now);
  }
  // the thread blocked in epoll_wait across the restore
  CHECK(write(wake, &one, sizeof one) == sizeof one, "cannot wake the thread");
  pthread_join(t, 0);
  CHECK(woken == 0x401, "the blocked thread got %llx", (unsigned long long)woken);
  if (!fails) printf("epoll PASS\n");
  return fails ? 1 : 0;
}
