// A job holding a named FIFO by path, filled to the brim (as a stalled consumer
// leaves it). Checkpointed without --kill, the original runs on holding it full:
// a restore beside it must not write the saved bytes into that same FIFO.
//
//   fifofull DIR      (makes DIR/fifo)
//
// Prints "ready N" (N bytes in the FIFO), then after about 6 s reads it back and
// prints "fifo bytes=N".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/fifo", argv[1]);
  if (mkfifo(path, 0600) < 0 && errno != EEXIST) return perror("mkfifo"), 1;
  int fd = open(path, O_RDWR | O_NONBLOCK);
  if (fd < 0) return perror("open"), 1;
  char buf[4096];
  memset(buf, 'x', sizeof buf);
  long n = 0;
  for (ssize_t w; (w = write(fd, buf, sizeof buf)) > 0;) n += w;
  printf("ready %ld\n", n);
  fflush(stdout);
  for (int i = 0; i < 600; i++) {
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  long got = 0;
  for (ssize_t r; (r = read(fd, buf, sizeof buf)) > 0;) got += r;
  printf("fifo bytes=%ld\n", got);
  return 0;
}
