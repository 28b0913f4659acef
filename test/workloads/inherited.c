// A job that got fd 3 from outside the domain (`vdomain run -- job 3>…`): writes
// one line to it, prints "ready", waits for a line on stdin (the checkpoint --kill
// lands there), then writes another to fd 3, which is now the restoring
// command's fd 3. Both lines go to fd 3, so whoever holds its other end sees them.
//
//   inherited
//
// fd 3: "inherited before <pid>" then "inherited after <pid> <checks>"; checks
// are "ok" or what changed of fd 3 (its fd flags, or that it is gone).
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  int fdf = fcntl(3, F_GETFD);
  if (fdf < 0) {
    printf("inherited: no fd 3\n");
    return 1;
  }
  dprintf(3, "inherited before %d\n", (int)getpid());
  printf("ready\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 3;  // the checkpoint lands here
  int now = fcntl(3, F_GETFD);
  if (dprintf(3, "inherited after %d %s\n", (int)getpid(), now == fdf ? "ok" : "fd-flags-changed") < 0) {
    printf("inherited: cannot write to fd 3\n");
    return 1;
  }
  printf("inherited done\n");
  return 0;
}
