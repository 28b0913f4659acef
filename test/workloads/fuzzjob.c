// The job whose image test/fuzz.test.ts edits at random: a few mappings (anonymous
// with a pattern, a read-only one, a guard page), a pipe with bytes in flight, a
// child process and a second thread. It prints "ready", then every task waits for
// DIR/go (the test makes it once the image is taken), checks its state, and the
// process prints PASS or what changed, and exits 0 only on PASS.
//
//   fuzzjob DIR
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char go[4096];
static unsigned char *pattern;
static const size_t PATTERN_BYTES = 5 * 4096;

static void wait_for_go(void) {
  struct stat st;
  while (stat(go, &st) < 0) usleep(5000);
}

static int pattern_intact(void) {
  for (size_t i = 0; i < PATTERN_BYTES; i++)
    if (pattern[i] != (unsigned char)(i * 13 + 7)) return 0;
  return 1;
}

static void *thread_main(void *arg) {
  (void)arg;
  wait_for_go();
  return (void *)(long)pattern_intact();
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  snprintf(go, sizeof go, "%s/go", argv[1]);
  pattern = mmap(NULL, PATTERN_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < PATTERN_BYTES; i++) pattern[i] = (unsigned char)(i * 13 + 7);
  char *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(ro, "read-only");
  mprotect(ro, 4096, PROT_READ);
  void *guard = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int p[2];
  if (pipe(p) < 0 || write(p[1], "in flight", 9) != 9) return 3;
  pid_t child = fork();
  if (child == 0) {
    wait_for_go();
    _exit(pattern_intact() && !strcmp(ro, "read-only") ? 0 : 1);
  }
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  printf("ready\n");
  fflush(stdout);
  wait_for_go();
  char buf[16] = {0};
  int piped = read(p[0], buf, sizeof buf - 1) == 9 && !strcmp(buf, "in flight");
  void *thread_ok = NULL;
  pthread_join(t, &thread_ok);
  int status = -1;
  waitpid(child, &status, 0);
  int ok = pattern_intact() && !strcmp(ro, "read-only") && guard != MAP_FAILED && piped && thread_ok &&
           WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (ok)
    printf("PASS\n");
  else
    printf("changed: pattern=%d ro=%d pipe=%d thread=%d child=%#x\n", pattern_intact(), !strcmp(ro, "read-only"), piped,
           thread_ok != NULL, status);
  return ok ? 0 : 1;
}
