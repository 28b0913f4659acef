// POSIX timers' state across a checkpoint and restore: a periodic
// CLOCK_MONOTONIC timer signalling SIGRTMIN with a sigev_value, a one-shot
// CLOCK_REALTIME one with time left (SIGUSR2), a disarmed CLOCK_BOOTTIME one, a
// SIGEV_NONE one armed (read by timer_gettime), one of the process's CPU-time
// clock, one signalling one worker thread (SIGEV_THREAD_ID with its gettid()) and
// one of glibc's SIGEV_THREAD (a kernel timer signalling glibc's helper thread,
// which runs the function in a new thread); ids with a hole (one deleted).
// Checked: the ids and /proc/self/timers as they were, each timer's period and
// time left (within the time the restore takes), and that each fires after the
// restore with its signal and value, the thread's one in that thread only, and
// glibc's runs its function.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "posix_timers PASS" or what changed; "perturb": disarms the periodic timer
// itself first (the check must then fail).
// refused "pending": its signal is pending
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STATE_KIND "posix_timers"
#include "../files/fd_state_check.h"

static volatile int glibcFired;
static void onTimer(union sigval v) { glibcFired = v.sival_int; }

// the worker a timer signals: takes SIGRTMIN+2 (blocked in every thread) itself
static volatile pid_t workerTid;
static volatile long workerGot;
static void* worker(void* arg) {
  (void)arg;
  workerTid = (pid_t)syscall(SYS_gettid);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN + 2);
  siginfo_t si;
  int got;
  // (a stop, the checkpoint's freeze too, ends a sigwaitinfo with EINTR, as signal(7) says)
  while ((got = sigwaitinfo(&s, &si)) < 0 && errno == EINTR) continue;
  if (got == SIGRTMIN + 2 && si.si_code == SI_TIMER) workerGot = (long)si.si_value.sival_ptr;
  return NULL;
}

static timer_t make(clockid_t clock, int notify, int signo, long value) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = notify;
  ev.sigev_signo = signo;
  ev.sigev_value.sival_ptr = (void*)value;
  timer_t t;
  if (timer_create(clock, &ev, &t) < 0) perror("timer_create"), exit(1);
  return t;
}

static void arm(timer_t t, double value, double interval) {
  struct itimerspec s = {{(time_t)interval, (long)((interval - (time_t)interval) * 1e9)},
                         {(time_t)value, (long)((value - (time_t)value) * 1e9)}};
  if (timer_settime(t, 0, &s, 0) < 0) perror("timer_settime"), exit(1);
}

static double left(timer_t t, double* interval) {
  struct itimerspec s;
  timer_gettime(t, &s);
  *interval = s.it_interval.tv_sec + s.it_interval.tv_nsec / 1e9;
  return s.it_value.tv_sec + s.it_value.tv_nsec / 1e9;
}

// /proc/self/timers without the pid in "notify" (a restore may give another)
static void timersText(char* out, size_t n) {
  FILE* f = fopen("/proc/self/timers", "r");
  char line[128];
  out[0] = 0;
  while (f && fgets(line, sizeof line, f)) {
    char* pid = strstr(line, "pid.");
    if (!pid) pid = strstr(line, "tid.");
    if (pid) strcpy(pid + 3, "\n");
    snprintf(out + strlen(out), n - strlen(out), "%s", line);
  }
  if (f) fclose(f);
}

int main(int argc, char** argv) {
  const int perturb = argc > 1 && !strcmp(argv[1], "perturb");
  const int pending = argc > 1 && !strcmp(argv[1], "pending");
  sigset_t both;
  sigemptyset(&both);
  sigaddset(&both, SIGRTMIN);
  sigaddset(&both, SIGUSR2);
  sigprocmask(SIG_BLOCK, &both, 0);  // taken with sigtimedwait
  sigset_t workers;
  sigemptyset(&workers);
  sigaddset(&workers, SIGRTMIN + 2);
  sigaddset(&workers, SIGURG);
  sigprocmask(SIG_BLOCK, &workers, 0);  // the worker's, and "pending"'s (never taken)
  pthread_t w;
  pthread_create(&w, NULL, worker, NULL);
  while (!workerTid) usleep(1000);
  timer_t periodic = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN, 0x5eed);
  timer_t gone = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  timer_t oneshot = make(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR2, 0xabcdef012345);
  timer_t disarmed = make(CLOCK_BOOTTIME, SIGEV_SIGNAL, SIGUSR2, 7);
  timer_t quiet = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  timer_t cpu = make(CLOCK_PROCESS_CPUTIME_ID, SIGEV_NONE, 0, 0);
  timer_delete(gone);  // a hole in the ids
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGRTMIN + 2;
  ev.sigev_value.sival_ptr = (void*)0x7e1d;
  ev._sigev_un._tid = workerTid;
  timer_t toWorker;
  if (timer_create(CLOCK_MONOTONIC, &ev, &toWorker) < 0) return perror("timer_create(SIGEV_THREAD_ID)"), 1;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD;  // glibc's: a kernel timer signalling its helper thread
  ev.sigev_notify_function = onTimer;
  ev.sigev_value.sival_int = 42;
  timer_t glibc;
  if (timer_create(CLOCK_MONOTONIC, &ev, &glibc) < 0) return perror("timer_create(SIGEV_THREAD)"), 1;
  if (pending) {  // expired, its signal queued and never taken
    timer_t soon = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGURG, 1);
    arm(soon, 0.001, 0);
    usleep(20000);
  }
  arm(periodic, 30, 30);  // (long enough not to fire before the check)
  arm(oneshot, 40, 0);
  arm(quiet, 50, 5);
  arm(cpu, 60, 0);
  arm(toWorker, 45, 0);
  arm(glibc, 55, 0);
  (void)disarmed;
  char before[1024];
  timersText(before, sizeof before);
  if (!readyThenGo()) return 1;

  if (perturb) arm(periodic, 0, 0);
  char now[1024];
  timersText(now, sizeof now);
  CHECK(!strcmp(now, before), "/proc/self/timers is\n%s\nwas\n%s", now, before);
  double interval, l;
  l = left(periodic, &interval);
  CHECK(interval == 30 && l > 0 && l <= 30, "the periodic timer: %.3f left, every %.3f", l, interval);
  l = left(oneshot, &interval);
  CHECK(interval == 0 && l > 0 && l <= 40, "the one-shot timer: %.3f left, every %.3f", l, interval);
  l = left(disarmed, &interval);
  CHECK(l == 0 && interval == 0, "the disarmed timer: %.3f left, every %.3f", l, interval);
  l = left(quiet, &interval);
  CHECK(interval == 5 && l > 0 && l <= 50, "the SIGEV_NONE timer: %.3f left, every %.3f", l, interval);
  l = left(cpu, &interval);
  CHECK(l > 59 && l <= 60, "the CPU-time timer: %.3f left", l);
  l = left(toWorker, &interval);
  CHECK(interval == 0 && l > 0 && l <= 45, "the thread's timer: %.3f left", l);
  l = left(glibc, &interval);
  CHECK(interval == 0 && l > 0 && l <= 55, "glibc's SIGEV_THREAD timer: %.3f left", l);
  // they fire, with their signal and value
  arm(periodic, 0.01, 0.01);
  arm(oneshot, 0.02, 0);
  struct timespec wait = {2, 0};
  siginfo_t si;
  int got = sigtimedwait(&both, &si, &wait);
  CHECK(got == SIGRTMIN && si.si_code == SI_TIMER && si.si_value.sival_ptr == (void*)0x5eed,
        "the periodic timer's signal: %d code %d value %p", got, si.si_code, si.si_value.sival_ptr);
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  got = sigtimedwait(&usr2, &si, &wait);
  CHECK(got == SIGUSR2 && si.si_code == SI_TIMER && si.si_value.sival_ptr == (void*)0xabcdef012345,
        "the one-shot timer's signal: %d code %d value %p", got, si.si_code, si.si_value.sival_ptr);
  // the thread's timer signals the worker (main has it blocked and never takes it)
  arm(toWorker, 0.01, 0);
  for (int i = 0; i < 2000 && !workerGot; i++) usleep(1000);
  CHECK(workerGot == 0x7e1d, "the thread's timer: its worker took %#lx", workerGot);
  sigset_t mine;
  sigpending(&mine);
  CHECK(!sigismember(&mine, SIGRTMIN + 2), "the thread's timer signalled another thread");
  arm(glibc, 0.01, 0);
  for (int i = 0; i < 2000 && !glibcFired; i++) usleep(1000);
  CHECK(glibcFired == 42, "glibc's SIGEV_THREAD timer ran its function with %d", glibcFired);
  if (!fails) printf("posix_timers PASS\n");
  return fails ? 1 : 0;
}
