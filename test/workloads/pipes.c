// Pipes and shared open files between processes, with bytes in flight: what a
// restore must bring back for shell pipelines and builds.
//
//   pipes DIR
//
// The parent opens DIR/shared.log (one open file description for both, after
// the fork), makes two pipes and forks a child:
//   - pipe P: the parent writes 40000 bytes at once; the child reads them late;
//   - pipe Q: the parent fills it to the brim (non-blocking, until EAGAIN);
//   - FIFO DIR/fifo: the parent writes 3000 bytes; the child reads them late;
//   - both append records to shared.log through the one description, turn by
//     turn: with the position shared, no record overwrites another.
// For about 2 s the child only sleeps (the bytes sit in the pipes), then reads
// both pipes to EOF. The parent reaps it and prints one line, the same for an
// uninterrupted run and for one checkpointed and restored at any moment:
//   pipes p=H/40000 q=H/N f=H/3000 filled=N log=BYTES child=0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
}

static uint64_t hash(uint64_t h, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

static uint64_t drain(int fd, size_t* total) {
  unsigned char buf[4096];
  uint64_t h = 0xcbf29ce484222325ULL;
  ssize_t n;
  *total = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) {
      h = hash(h, buf, (size_t)n);
      *total += (size_t)n;
    }
  return h;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pipes DIR\n");
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/shared.log", argv[1]);
  int log = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int p[2], q[2];
  if (log < 0 || pipe(p) < 0 || pipe(q) < 0) return 1;
  char fifo[4096];
  snprintf(fifo, sizeof fifo, "%s/fifo", argv[1]);
  unlink(fifo);
  if (mkfifo(fifo, 0600) < 0) return 1;

  pid_t child = fork();
  if (child == 0) {
    close(p[1]);
    close(q[1]);
    int fr = open(fifo, O_RDONLY);  // (until the parent opens it for writing)
    for (int i = 0; i < 40; i++) {
      nap(50);
      if (i % 2) write(log, "child-record\n", 13);  // the shared position: after the parent's
    }
    size_t np, nq, nf;
    uint64_t hp = drain(p[0], &np), hq = drain(q[0], &nq), hf = drain(fr, &nf);
    // report through the files the parent reads (stdout is shared with it)
    char out[256];
    int n = snprintf(out, sizeof out, "p=%016llx/%zu q=%016llx/%zu f=%016llx/%zu", (unsigned long long)hp, np,
                     (unsigned long long)hq, nq, (unsigned long long)hf, nf);
    snprintf(path, sizeof path, "%s/child", argv[1]);
    int r = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (r < 0 || write(r, out, (size_t)n) != n) _exit(3);
    _exit(0);
  }
  close(p[0]);
  close(q[0]);
  int fw = open(fifo, O_WRONLY);
  unsigned char data[40000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 + (i >> 8));
  if (write(p[1], data, sizeof data) != (ssize_t)sizeof data) return 1;
  close(p[1]);
  if (write(fw, data + 100, 3000) != 3000) return 1;
  fcntl(q[1], F_SETFL, O_NONBLOCK);
  size_t filled = 0;
  for (;;) {
    ssize_t n = write(q[1], data, 1000);
    if (n <= 0) break;
    filled += (size_t)n;
  }
  for (int i = 0; i < 40; i++) {
    nap(50);
    if (i % 2 == 0) write(log, "parent-record\n", 14);
  }
  close(q[1]);
  close(fw);
  int st;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
  char report[256] = "";
  snprintf(path, sizeof path, "%s/child", argv[1]);
  FILE* f = fopen(path, "r");
  if (f) {
    if (!fgets(report, sizeof report, f)) report[0] = 0;
    fclose(f);
  }
  off_t size = lseek(log, 0, SEEK_CUR);
  printf("pipes %s filled=%zu log=%lld child=%d\n", report, filled, (long long)size, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}
