// Robust mutexes across a restore: ROUNDS rounds of THREADS threads add to a
// counter under one robust mutex, holding it across short sleeps (so checkpoints
// find it held); at the end of each round one thread exits holding it, and
// whoever locks next must get EOWNERDEAD from the kernel (which walks the dead
// thread's robust list and matches the lock word against its real TID).
//
//   robust ROUNDS [THREADS]   (THREADS: 4 by default)
//
// Output (stdout, at the end only):
//   robust rounds=R threads=T sum=S owner-dead=R/R errors=0
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STEPS 300

static pthread_mutex_t mu;
static uint64_t sum;
static long ownerDead, errors;

static void lockIt(void) {
  int rc = pthread_mutex_lock(&mu);
  if (rc == EOWNERDEAD) {
    ownerDead++;
    pthread_mutex_consistent(&mu);
  } else if (rc != 0) {
    errors++;
  }
}

static void* worker(void* arg) {
  const long me = (long)(intptr_t)arg;
  for (long k = 0; k < STEPS; k++) {
    lockIt();
    sum += (uint64_t)(me * 1000003 + k);
    if (k % 25 == 0) {
      struct timespec ts = {0, 1000000};  // held while asleep
      nanosleep(&ts, NULL);
    }
    if (pthread_mutex_unlock(&mu) != 0) errors++;
  }
  if (me == 0) {
    lockIt();
    pthread_exit(NULL);  // holding it: the kernel marks it OWNER_DIED
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: robust ROUNDS [THREADS]\n");
    return 2;
  }
  const long rounds = atol(argv[1]);
  const int threads = argc > 2 ? atoi(argv[2]) : 4;
  if (rounds < 1 || threads < 1 || threads > 64) return 2;
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&mu, &a);
  pthread_t t[64];
  for (long r = 0; r < rounds; r++) {
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void*)(intptr_t)i);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    lockIt();  // the dead thread's lock, if no other took it first
    pthread_mutex_unlock(&mu);
  }
  printf("robust rounds=%ld threads=%d sum=%llu owner-dead=%ld/%ld errors=%ld\n", rounds, threads,
         (unsigned long long)sum, ownerDead, rounds, errors);
  return 0;
}
