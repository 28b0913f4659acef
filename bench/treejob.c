/*
 * bench/treejob.c — the process tree the checkpoint/restore benchmark freezes.
 *
 *   treejob N
 *
 * The root forks N-1 children (each touches 64 KB of its own, then waits in
 * pause()), prints "ready" and blocks reading stdin. On a byte it ends its
 * children, reaps them all (checking they were alive, stopped by SIGTERM) and
 * prints "ok N" (exit 0), or "BAD" (exit 1).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2 || atoi(argv[1]) < 1) {
    fprintf(stderr, "usage: treejob N\n");
    return 2;
  }
  int n = atoi(argv[1]);
  pid_t *kids = calloc((size_t)n, sizeof *kids);
  for (int i = 1; i < n; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      char *mine = malloc(64 << 10);
      memset(mine, i, 64 << 10);
      for (;;) pause();
    }
  }
  printf("ready\n");
  fflush(stdout);
  char c;
  if (read(0, &c, 1) != 1) return 1;
  int ok = 1;
  for (int i = 1; i < n; i++) kill(kids[i], SIGTERM);
  for (int i = 1; i < n; i++) {
    int st;
    if (waitpid(kids[i], &st, 0) != kids[i] || !WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) ok = 0;
  }
  if (ok) printf("ok %d\n", n);
  else printf("BAD\n");
  return ok ? 0 : 1;
}
