// timerfd's state across a checkpoint and restore: a periodic timer with
// expirations unread (more periods missed than fdinfo shows until asked), a
// relative one-shot with time left, an absolute CLOCK_REALTIME one with
// TFD_TIMER_CANCEL_ON_SET and a period (its wall-clock deadline kept), an
// expired one-shot unread, a disarmed CLOCK_BOOTTIME one; clocks, settime flags,
// O_NONBLOCK, close-on-exec.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "timerfd PASS" or what changed; "perturb": gives the one-shot a period itself
// first (the check must then fail); "shared": holds one twice (dup), refused.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define STATE_KIND "timerfd"
#include "../files/fd_state_check.h"

static double secs(struct timespec t) { return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char** argv) {
  const int perturb = argc > 1 && !strcmp(argv[1], "perturb");
  const int shared = argc > 1 && !strcmp(argv[1], "shared");
  int periodic = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec every50 = {{0, 50000000}, {0, 50000000}};
  timerfd_settime(periodic, 0, &every50, 0);
  int oneshot = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  struct itimerspec in20 = {{0, 0}, {20, 0}};
  timerfd_settime(oneshot, 0, &in20, 0);
  int wall = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const time_t deadline = now.tv_sec + 3600;
  struct itimerspec at = {{7, 0}, {deadline, 0}};
  timerfd_settime(wall, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &at, 0);
  int expired = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec in1ms = {{0, 0}, {0, 1000000}};
  timerfd_settime(expired, 0, &in1ms, 0);
  int off = timerfd_create(CLOCK_BOOTTIME, 0);
  if (periodic < 0 || oneshot < 0 || wall < 0 || expired < 0 || off < 0) return perror("timerfd_create"), 1;
  if (shared && dup(off) < 0) return perror("dup"), 1;
  usleep(230000);  // four periods and more of the periodic one, unread
  if (!readyThenGo()) return 1;

  if (perturb) {
    struct itimerspec cur;
    timerfd_gettime(oneshot, &cur);
    cur.it_interval.tv_sec = 1;
    timerfd_settime(oneshot, 0, &cur, 0);
  }
  char v[64];
  struct itimerspec cur;
  uint64_t ticks = 0;
  // the periodic one: its period, and at least the four expirations it had
  timerfd_gettime(periodic, &cur);
  CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 50000000, "the period is %.9f s", secs(cur.it_interval));
  CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0, "the periodic one is not armed (%.9f s)", secs(cur.it_value));
  CHECK(read(periodic, &ticks, sizeof ticks) == sizeof ticks && ticks >= 4, "the periodic one had %llu expirations unread", (unsigned long long)ticks);
  fdinfo(periodic, "clockid", v, sizeof v);
  CHECK(!strcmp(v, "1"), "the periodic one's clock is %s", v);
  CHECK(fcntl(periodic, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
  // the one-shot: one-shot still, with most of its 20 s left (time stops in an image)
  timerfd_gettime(oneshot, &cur);
  CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 0, "the one-shot has a period of %.9f s", secs(cur.it_interval));
  CHECK(secs(cur.it_value) > 10 && secs(cur.it_value) <= 20, "the one-shot has %.3f s left", secs(cur.it_value));
  CHECK(fcntl(oneshot, F_GETFD) & FD_CLOEXEC, "close-on-exec lost");
  // the absolute wall-clock one: the same deadline, period and flags
  timerfd_gettime(wall, &cur);
  clock_gettime(CLOCK_REALTIME, &now);
  const double due = secs(now) + secs(cur.it_value);
  CHECK(due > deadline - 1 && due < deadline + 1, "the wall-clock deadline moved by %.3f s", due - deadline);
  CHECK(cur.it_interval.tv_sec == 7 && cur.it_interval.tv_nsec == 0, "the wall-clock period is %.9f s", secs(cur.it_interval));
  fdinfo(wall, "settime flags", v, sizeof v);
  CHECK(!strcmp(v, "03"), "the wall-clock settime flags are %s", v);
  fdinfo(wall, "clockid", v, sizeof v);
  CHECK(!strcmp(v, "0"), "the wall-clock one's clock is %s", v);
  // the expired one-shot: its one expiration, then disarmed
  CHECK(read(expired, &ticks, sizeof ticks) == sizeof ticks && ticks == 1, "the expired one had %llu expirations", (unsigned long long)ticks);
  CHECK(read(expired, &ticks, sizeof ticks) < 0 && errno == EAGAIN, "the expired one has more");
  timerfd_gettime(expired, &cur);
  CHECK(!cur.it_value.tv_sec && !cur.it_value.tv_nsec, "the expired one is armed again");
  // the disarmed one
  timerfd_gettime(off, &cur);
  CHECK(!cur.it_value.tv_sec && !cur.it_value.tv_nsec && !cur.it_interval.tv_sec, "the disarmed one is armed");
  fdinfo(off, "clockid", v, sizeof v);
  CHECK(!strcmp(v, "7"), "the disarmed one's clock is %s", v);
  CHECK(!(fcntl(off, F_GETFL) & O_NONBLOCK), "the disarmed one became non-blocking");
  if (!fails) printf("timerfd PASS\n");
  return fails ? 1 : 0;
}
