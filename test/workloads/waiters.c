// Calls the kernel resumes after an interruption through its restart block, which
// a restored process does not have: a poll without a timeout (the main thread, on
// stdin; a thread, on a pipe), a poll with one and a nanosleep (each in a thread:
// they end, later than asked, never earlier), and a sleep until an absolute time.
// Each must go on across a checkpoint and restore as it would after a stop, not
// fail with EINTR.
// Prints "ready", is checkpointed and restored, then gets a line on stdin; prints
// "waiters PASS" or what changed.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int pipe_fds[2];
static const char *thread_failed, *sleeper_failed, *timed_failed, *napper_failed;
static struct timespec until;

static void *poller(void *arg) {
  (void)arg;
  struct pollfd p = {pipe_fds[0], POLLIN, 0};
  if (poll(&p, 1, -1) != 1) thread_failed = strerror(errno);
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (rc) sleeper_failed = strerror(rc);
  else if (now.tv_sec < until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec < until.tv_nsec)) sleeper_failed = "woke early";
  return NULL;
}

static double since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

// a poll of a pipe nobody writes, for 2 s: it times out
static void *timed(void *arg) {
  (void)arg;
  int p[2];
  if (pipe(p) < 0) return NULL;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct pollfd f = {p[0], POLLIN, 0};
  int rc = poll(&f, 1, 2000);
  if (rc != 0) timed_failed = rc < 0 ? strerror(errno) : "readable";
  else if (since(&t0) < 2.0) timed_failed = "timed out early";
  return NULL;
}

// a nanosleep of 2 s: it ends, not early
static void *napper(void *arg) {
  (void)arg;
  struct timespec t0, two = {2, 0};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (nanosleep(&two, NULL) < 0) napper_failed = strerror(errno);
  else if (since(&t0) < 2.0) napper_failed = "woke early";
  return NULL;
}

int main(void) {
  if (pipe(pipe_fds) < 0) return 1;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += 4;
  pthread_t a, b, c, d;
  pthread_create(&a, NULL, poller, NULL);
  pthread_create(&b, NULL, sleeper, NULL);
  pthread_create(&c, NULL, timed, NULL);
  pthread_create(&d, NULL, napper, NULL);
  usleep(100000);
  printf("ready\n");
  fflush(stdout);
  struct pollfd in = {0, POLLIN, 0};
  int rc = poll(&in, 1, -1);
  const char *main_failed = rc == 1 ? NULL : strerror(errno);
  if (write(pipe_fds[1], "x", 1) != 1) return 1;
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  pthread_join(c, NULL);
  pthread_join(d, NULL);
  if (main_failed) printf("waiters changed: the main thread's poll failed: %s\n", main_failed);
  if (thread_failed) printf("waiters changed: a thread's poll failed: %s\n", thread_failed);
  if (sleeper_failed) printf("waiters changed: clock_nanosleep(TIMER_ABSTIME): %s\n", sleeper_failed);
  if (timed_failed) printf("waiters changed: a poll with a timeout: %s\n", timed_failed);
  if (napper_failed) printf("waiters changed: nanosleep: %s\n", napper_failed);
  if (main_failed || thread_failed || sleeper_failed || timed_failed || napper_failed) return 1;
  printf("waiters PASS\n");
  return 0;
}
