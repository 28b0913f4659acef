/*
 * bench/shmjob.c — a shared mapping held by several processes, for the
 * checkpoint/restore benchmark.
 *
 *   shmjob MB PROCESSES
 *
 * Maps MB of MAP_SHARED|MAP_ANONYMOUS memory, fills it, forks PROCESSES-1
 * children that hold it (each writes one word of its own and waits), prints
 * "ready" and blocks reading stdin. On a byte it checks the pattern and each
 * child's word (a write by one is seen by all: the mapping is one object again),
 * ends the children and prints "ok MB" (exit 0) or "BAD" (exit 1).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3 || atoi(argv[1]) < 1 || atoi(argv[2]) < 1 || atoi(argv[2]) > 64) {
    fprintf(stderr, "usage: shmjob MB PROCESSES\n");
    return 2;
  }
  const size_t words = ((size_t)atoi(argv[1]) << 20) / 8;
  const int n = atoi(argv[2]);
  volatile uint64_t *m = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return perror("shmjob: mmap"), 1;
  for (size_t i = 64; i < words; i++) m[i] = i * 0x9e3779b97f4a7c15ULL;
  pid_t kids[64];
  for (int k = 1; k < n; k++) {
    if ((kids[k] = fork()) == 0) {
      m[k] = 0xc0de0000 + k;
      for (;;) pause();
    }
  }
  for (int k = 1; k < n; k++)
    while (m[k] != 0xc0de0000ULL + k) usleep(1000);
  printf("ready\n");
  fflush(stdout);
  char c;
  if (read(0, &c, 1) != 1) return 1;
  int bad = 0;
  for (size_t i = 64; i < words; i++) bad |= m[i] != i * 0x9e3779b97f4a7c15ULL;
  for (int k = 1; k < n; k++) bad |= m[k] != 0xc0de0000ULL + k;
  for (int k = 1; k < n; k++) kill(kids[k], SIGKILL), waitpid(kids[k], NULL, 0);
  printf(bad ? "BAD\n" : "ok %d\n", atoi(argv[1]));
  return bad;
}
