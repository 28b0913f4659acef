/*
 * bench/memjob.c — the job the checkpoint/restore benchmark freezes.
 *
 *   memjob MB
 *
 * Fills MB MiB of anonymous memory with pseudo-random words, prints "ready" and
 * blocks reading stdin. On a byte it checks the memory against the sum taken
 * before, prints "ok SUM" (or "BAD") and exits 0 (1 on a mismatch). So a restored
 * copy proves its memory came back whole, and the bench can tell the moment it
 * runs again (it answers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t sum_of(const uint64_t *m, size_t words) {
  uint64_t s = 0;
  for (size_t i = 0; i < words; i++) s = s * 1099511628211ULL + m[i];
  return s;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: memjob MB\n");
    return 2;
  }
  size_t words = (size_t)atol(argv[1]) << 17;
  uint64_t *m = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return 1;
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < words; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    m[i] = x;
  }
  uint64_t before = sum_of(m, words);
  printf("ready\n");
  fflush(stdout);
  char c;
  if (read(0, &c, 1) != 1) return 1;
  uint64_t after = sum_of(m, words);
  printf(after == before ? "ok %016llx\n" : "BAD %016llx\n", (unsigned long long)after);
  return after == before ? 0 : 1;
}
