// A checkpointable workload whose result is known: a hash chain over a counter,
// threaded through memory of several kinds, with the process state a restore must
// bring back checked along the way. Run uninterrupted it prints the reference
// line; checkpointed and restored (any number of times, at any moment) it must
// print the same line.
//
//   chain STEPS [APPEND_FILE]
//
// Each step mixes the counter into a 4 MiB heap buffer, a 1 MiB anonymous mmap,
// a static array and the stack, sleeps now and then (so checkpoints land inside
// syscalls too) and raises SIGUSR1 at itself, whose handler (with its own
// sigaltstack) counts. With APPEND_FILE it appends one line per 64 steps to it
// (O_APPEND: the restored process must go on at the end of the file). A file
// deleted after being opened carries a checksum of its contents to the end.
// Output (stdout, at the end only):
//   chain steps=N hash=H signals=S deleted=ok|BAD pid=same|changed
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t signals;
static uint64_t table[4096];

static void on_usr1(int sig) {
  (void)sig;
  signals++;
}

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: chain STEPS [APPEND_FILE]\n");
    return 2;
  }
  const long steps = atol(argv[1]);
  const pid_t pid0 = getpid();

  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART | SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0};
  sigaltstack(&ss, NULL);

  const size_t heapLen = 4 << 20, mapLen = 1 << 20;
  uint8_t* heap = malloc(heapLen);
  uint8_t* map = mmap(NULL, mapLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < heapLen; i++) heap[i] = (uint8_t)(i * 31);
  memset(map, 0x5a, mapLen);

  // a file that exists only through its descriptor
  char tmpl[] = "/tmp/chain-deleted-XXXXXX";
  int del = mkstemp(tmpl);
  unlink(tmpl);
  uint64_t delSum = 0;
  for (int i = 0; i < 1000; i++) {
    char line[64];
    int n = snprintf(line, sizeof line, "deleted line %d\n", i);
    if (write(del, line, n) != n) return 3;
    for (int k = 0; k < n; k++) delSum = mix(delSum, (uint8_t)line[k]);
  }

  int app = argc > 2 ? open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;

  uint64_t h = 1;
  volatile uint64_t onStack[64] = {0};
  for (long s = 0; s < steps; s++) {
    size_t at = (size_t)(h % (heapLen - 64));
    for (int k = 0; k < 64; k++) {
      heap[at + k] ^= (uint8_t)(h >> (k % 56));
      h = mix(h, heap[at + k]);
    }
    map[h % mapLen] += 1;
    h = mix(h, map[(h >> 7) % mapLen]);
    table[s % 4096] = h;
    onStack[s % 64] = h;
    h = mix(h, table[(h >> 11) % 4096] ^ onStack[(s * 7) % 64]);
    if (s % 64 == 0) {
      kill(getpid(), SIGUSR1);
      if (app >= 0) {
        char line[64];
        int n = snprintf(line, sizeof line, "%ld %016llx\n", s, (unsigned long long)h);
        if (write(app, line, n) != n) return 3;
      }
    }
    if (s % 256 == 0) {
      struct timespec ts = {0, 1000000};  // 1 ms
      nanosleep(&ts, NULL);
    }
  }

  // the deleted file: read back through the same descriptor
  uint64_t back = 0;
  char buf[4096];
  lseek(del, 0, SEEK_SET);
  ssize_t n;
  while ((n = read(del, buf, sizeof buf)) > 0)
    for (ssize_t k = 0; k < n; k++) back = mix(back, (uint8_t)buf[k]);

  printf("chain steps=%ld hash=%016llx signals=%ld deleted=%s pid=%s\n", steps, (unsigned long long)h,
         (long)signals, back == delSum ? "ok" : "BAD", getpid() == pid0 ? "same" : "changed");
  return 0;
}
