// eventfd's state across a checkpoint and restore: counters (a semaphore one, one
// at the highest value, an empty one), EFD_SEMAPHORE, O_NONBLOCK, close-on-exec,
// and a thread blocked reading one, woken by a write after the restore.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "eventfd PASS" or what changed. With the argument "perturb" it changes a counter
// itself before checking: it must then fail (the check can tell). With "shared" it
// holds one of them twice (dup), which checkpoint refuses.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define STATE_KIND "eventfd"
#include "../files/fd_state_check.h"

static int blocked;  // read by the thread, blocking
static uint64_t woken;

static void* reader(void* arg) {
  (void)arg;
  uint64_t v = 0;
  while (read(blocked, &v, sizeof v) < 0 && errno == EINTR) {}
  woken = v;
  return 0;
}

int main(int argc, char** argv) {
  const int perturb = argc > 1 && !strcmp(argv[1], "perturb");
  const int shared = argc > 1 && !strcmp(argv[1], "shared");
  int sem = eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK);
  int full = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  uint64_t most = 0xfffffffffffffffeULL;
  if (write(full, &most, sizeof most) != sizeof most) return perror("write"), 1;
  int empty = eventfd(0, EFD_NONBLOCK);
  if (shared && dup(empty) < 0) return perror("dup"), 1;
  blocked = eventfd(0, 0);
  pthread_t t;
  pthread_create(&t, 0, reader, 0);
  usleep(100000);  // the thread is in its read
  if (!readyThenGo()) return 1;

  if (perturb) {
    uint64_t one = 1;
    if (write(sem, &one, sizeof one) != sizeof one) return perror("write"), 1;
  }
  // the semaphore counter: five reads of 1, then empty
  uint64_t v;
  for (int i = 0; i < 5; i++) CHECK(read(sem, &v, sizeof v) == sizeof v && v == 1, "semaphore read %d gave %llu", i, (unsigned long long)v);
  CHECK(read(sem, &v, sizeof v) < 0 && errno == EAGAIN, "the semaphore counter is not 5");
  char val[64];
  fdinfo(sem, "eventfd-semaphore", val, sizeof val);
  CHECK(!strcmp(val, "1"), "EFD_SEMAPHORE is '%s'", val);
  CHECK(fcntl(sem, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
  CHECK(!(fcntl(sem, F_GETFD) & FD_CLOEXEC), "close-on-exec set");
  fdinfo(full, "eventfd-semaphore", val, sizeof val);
  CHECK(!strcmp(val, "0"), "the full counter became a semaphore");
  CHECK(read(full, &v, sizeof v) == sizeof v && v == most, "the full counter is %llu", (unsigned long long)v);
  CHECK(fcntl(full, F_GETFD) & FD_CLOEXEC, "close-on-exec lost");
  CHECK(read(empty, &v, sizeof v) < 0 && errno == EAGAIN, "the empty counter is not empty");
  CHECK(!(fcntl(blocked, F_GETFL) & O_NONBLOCK), "the blocking one became non-blocking");
  // the thread was blocked in its read across the restore: a write wakes it
  uint64_t seven = 7;
  CHECK(write(blocked, &seven, sizeof seven) == sizeof seven, "cannot write the blocking one");
  pthread_join(t, 0);
  CHECK(woken == 7, "the blocked reader got %llu", (unsigned long long)woken);
  if (!fails) printf("eventfd PASS\n");
  return fails ? 1 : 0;
}
