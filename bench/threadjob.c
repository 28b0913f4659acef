/*
 * bench/threadjob.c — the multithreaded process the checkpoint/restore benchmark
 * freezes.
 *
 *   threadjob N
 *
 * The main thread starts N-1 threads (each fills 64 KB of its own, then waits on
 * a condition variable), prints "ready" and blocks reading stdin. On a byte it
 * wakes them and joins them (each checks its 64 KB) and prints "ok N" (exit 0),
 * or "BAD" (exit 1).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int released, bad;

static void *worker(void *arg) {
  const int me = (int)(intptr_t)arg;
  unsigned char *mine = malloc(64 << 10);
  memset(mine, me, 64 << 10);
  pthread_mutex_lock(&mu);
  while (!released) pthread_cond_wait(&go, &mu);
  for (int i = 0; i < 64 << 10; i++) bad += mine[i] != (unsigned char)me;
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2 || atoi(argv[1]) < 1) {
    fprintf(stderr, "usage: threadjob N\n");
    return 2;
  }
  int n = atoi(argv[1]);
  pthread_t *t = calloc((size_t)n, sizeof *t);
  for (int i = 1; i < n; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) != 0) return 1;
  printf("ready\n");
  fflush(stdout);
  char c;
  if (read(0, &c, 1) != 1) return 1;
  pthread_mutex_lock(&mu);
  released = 1;
  pthread_cond_broadcast(&go);
  pthread_mutex_unlock(&mu);
  for (int i = 1; i < n; i++) pthread_join(t[i], NULL);
  if (bad) {
    printf("BAD\n");
    return 1;
  }
  printf("ok %d\n", n);
  return 0;
}
