// Calls the kernel resumes after an interruption through its restart block, which
// a restored process does not have: a poll without a timeout (the main thread, on
// stdin; a thread, on a pipe) and a sleep until an absolute time. Each must go on
// across a checkpoint and restore as it would after a stop, not fail with EINTR.
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
static const char *thread_failed, *sleeper_failed;
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

int main(void) {
  if (pipe(pipe_fds) < 0) return 1;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += 4;
  pthread_t a, b;
  pthread_create(&a, NULL, poller, NULL);
  pthread_create(&b, NULL, sleeper, NULL);
  usleep(100000);
  printf("ready\n");
  fflush(stdout);
  struct pollfd in = {0, POLLIN, 0};
  int rc = poll(&in, 1, -1);
  const char *main_failed = rc == 1 ? NULL : strerror(errno);
  if (write(pipe_fds[1], "x", 1) != 1) return 1;
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  if (main_failed) printf("waiters changed: the main thread's poll failed: %s\n", main_failed);
  if (thread_failed) printf("waiters changed: a thread's poll failed: %s\n", thread_failed);
  if (sleeper_failed) printf("waiters changed: clock_nanosleep(TIMER_ABSTIME): %s\n", sleeper_failed);
  if (main_failed || thread_failed || sleeper_failed) return 1;
  printf("waiters PASS\n");
  return 0;
}
