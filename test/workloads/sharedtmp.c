// A file deleted while open, shared by a parent and its child (one open file
// description after fork: one position). In turns the child and the parent read
// one byte each through it, the child sending its byte over a pipe; ROUNDS turns
// about 10 ms apart. Prints "ready", then "sharedtmp pos=N hash=H": the shared
// position and a hash of the bytes in the order read.
//
//   sharedtmp DIR ROUNDS
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  const int rounds = atoi(argv[2]);
  char path[4096];
  snprintf(path, sizeof path, "%s/sharedtmp-%d", argv[1], (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return perror(path), 1;
  unsigned char block[4096];
  for (int i = 0; i < (int)sizeof block; i++) block[i] = (unsigned char)(i * 31 + 7);
  if (write(fd, block, sizeof block) != (ssize_t)sizeof block) return 1;
  unlink(path);
  lseek(fd, 100, SEEK_SET);
  int go[2], back[2];
  if (pipe(go) < 0 || pipe(back) < 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    close(go[1]);
    close(back[0]);
    char token;
    while (read(go[0], &token, 1) == 1) {
      unsigned char c = 0;
      if (read(fd, &c, 1) != 1) _exit(3);
      if (write(back[1], &c, 1) != 1) _exit(3);
    }
    _exit(0);
  }
  close(go[0]);
  close(back[1]);
  printf("ready\n");
  fflush(stdout);
  uint64_t hash = 1469598103934665603ULL;
  for (int i = 0; i < rounds; i++) {
    unsigned char theirs = 0, mine = 0;
    if (write(go[1], "t", 1) != 1 || read(back[0], &theirs, 1) != 1 || read(fd, &mine, 1) != 1) return 3;
    hash = (hash ^ theirs) * 1099511628211ULL;
    hash = (hash ^ mine) * 1099511628211ULL;
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  close(go[1]);
  int st;
  waitpid(child, &st, 0);
  printf("sharedtmp pos=%ld hash=%016llx\n", (long)lseek(fd, 0, SEEK_CUR), (unsigned long long)hash);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
