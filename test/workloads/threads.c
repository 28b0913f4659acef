// A multithreaded workload whose result is known: the main thread posts work
// items into a bounded queue (a mutex and two condition variables) and WORKERS
// threads take them (two rounds, each with new threads for half of the items, so
// a restore mid-run also sees threads born after it), hash each through a chain of rounds (sleeping now and then,
// so checkpoints land in futex waits and sleeps too) and store the result in
// its slot. Run uninterrupted it prints the reference line; checkpointed and
// restored (any number of times, at any moment) it must print the same line.
//
//   threads ITEMS [WORKERS]   (WORKERS: 8 by default)
//
// Along the way each worker keeps what a restore must bring back per thread: its
// name, its TID (gettid at start and at the end), its own signal mask (SIGUSR2
// blocked in workers only), a thread-local count of the real-time signals the
// main thread sends it with pthread_kill (queued, never merged: every one
// counts); and each sends itself a signal by the TID gettid() gives it (tgkill):
// a virtual TID must reach the right thread. One more thread sits in read() on a
// pipe the whole run, until the main thread writes the hash into it at the end.
// Output (stdout, at the end only):
//   threads items=N workers=W hash=H names=ok tids=same masks=ok self=ok read=ok signals=S/S
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define QUEUE 16
#define MAX_WORKERS 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notEmpty = PTHREAD_COND_INITIALIZER, notFull = PTHREAD_COND_INITIALIZER;
static long queue[QUEUE];
static int head, count, closed;
static uint64_t* results;
static long items;
static int workers;
static int badNames, badTids, badMasks, badSelf;
static long received;
static __thread long mySignals, selfSignals;

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

static int pipeFds[2];
static uint64_t heard;

static void* reader(void* arg) {
  (void)arg;
  uint64_t v = 0;
  size_t got = 0;
  while (got < sizeof v) {
    ssize_t n = read(pipeFds[0], (char*)&v + got, sizeof v - got);
    if (n <= 0) return NULL;
    got += (size_t)n;
  }
  heard = v;
  return NULL;
}

static void onSignal(int sig) {
  if (sig == SIGRTMIN + 1) mySignals++;
  else selfSignals++;
}

static void* worker(void* arg) {
  const int me = (int)(intptr_t)arg;
  char want[16], name[16];
  snprintf(want, sizeof want, "worker-%d", me);
  pthread_setname_np(pthread_self(), want);
  const pid_t tid0 = (pid_t)syscall(SYS_gettid);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, NULL);
  syscall(SYS_tgkill, getpid(), tid0, SIGRTMIN + 2);
  for (;;) {
    pthread_mutex_lock(&mu);
    while (!count && !closed) pthread_cond_wait(&notEmpty, &mu);
    if (!count) {
      pthread_mutex_unlock(&mu);
      break;
    }
    long item = queue[head];
    head = (head + 1) % QUEUE;
    count--;
    pthread_cond_signal(&notFull);
    pthread_mutex_unlock(&mu);

    uint64_t h = (uint64_t)item;
    for (int round = 0; round < 20000; round++) h = mix(h, (uint64_t)round);
    if (item % 97 == 0) {
      struct timespec ts = {0, 2000000};
      nanosleep(&ts, NULL);
    }
    results[item] = h;
  }
  pthread_getname_np(pthread_self(), name, sizeof name);
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, NULL, &now);
  pthread_mutex_lock(&mu);
  badNames += strcmp(name, want) != 0;
  badTids += (pid_t)syscall(SYS_gettid) != tid0;
  badMasks += !sigismember(&now, SIGUSR2);
  badSelf += selfSignals != 1;
  received += mySignals;
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: threads ITEMS [WORKERS]\n");
    return 2;
  }
  items = atol(argv[1]);
  workers = argc > 2 ? atoi(argv[2]) : 8;
  if (items < 1 || workers < 1 || workers > MAX_WORKERS) return 2;
  results = calloc((size_t)items, sizeof *results);
  struct sigaction sa = {0};
  sa.sa_handler = onSignal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGRTMIN + 1, &sa, NULL);
  sigaction(SIGRTMIN + 2, &sa, NULL);

  pthread_t t[MAX_WORKERS], r;
  if (pipe(pipeFds) != 0 || pthread_create(&r, NULL, reader, NULL) != 0) return 1;
  long sent = 0;
  for (int round = 0; round < 2; round++) {
    closed = 0;
    for (int i = 0; i < workers; i++) pthread_create(&t[i], NULL, worker, (void*)(intptr_t)i);
    for (long i = round * (items / 2); i < (round ? items : items / 2); i++) {
      pthread_mutex_lock(&mu);
      while (count == QUEUE) pthread_cond_wait(&notFull, &mu);
      queue[(head + count) % QUEUE] = i;
      count++;
      pthread_cond_signal(&notEmpty);
      pthread_mutex_unlock(&mu);
      if (i % 64 == 0) {
        pthread_kill(t[(i / 64) % workers], SIGRTMIN + 1);
        sent++;
      }
    }
    pthread_mutex_lock(&mu);
    closed = 1;
    pthread_cond_broadcast(&notEmpty);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < workers; i++) pthread_join(t[i], NULL);
  }

  sigset_t mine;
  pthread_sigmask(SIG_SETMASK, NULL, &mine);
  uint64_t h = 0;
  for (long i = 0; i < items; i++) h = mix(h, results[i]);
  if (write(pipeFds[1], &h, sizeof h) != sizeof h) return 1;
  pthread_join(r, NULL);
  printf("threads items=%ld workers=%d hash=%016llx names=%s tids=%s masks=%s self=%s read=%s signals=%ld/%ld\n",
         items, workers, (unsigned long long)h, badNames ? "BAD" : "ok", badTids ? "changed" : "same",
         badMasks || sigismember(&mine, SIGUSR2) ? "BAD" : "ok", badSelf ? "BAD" : "ok", heard == h ? "ok" : "BAD",
         received, sent);
  return 0;
}
