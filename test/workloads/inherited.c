// A job that got fd 3 from outside the domain (`vdomain run -- job 3>…`): writes
// one line to it, prints "ready", waits for a line on stdin (the checkpoint --kill
// lands there), then writes another to fd 3, which is now the restoring
// command's fd 3. Both lines go to fd 3, so whoever holds its other end sees them.
//
//   inherited
//
// fd 3: "inherited before <pid>" then "inherited after <pid> <checks>"; checks
// are "ok" or what changed of fd 3 (its fd flags, or that it is gone), or of the
// fds it has (a restore gives it no other).
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// the numbers of its open fds, "0,1,2,3,"
static void fd_numbers(char* out, size_t n) {
  DIR* d = opendir("/proc/self/fd");
  out[0] = 0;
  struct dirent* e;
  int nums[256], k = 0;
  while (d && (e = readdir(d)) && k < 256)
    if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d)) nums[k++] = atoi(e->d_name);
  if (d) closedir(d);
  for (int i = 1; i < k; i++)
    for (int j = i; j > 0 && nums[j] < nums[j - 1]; j--) {
      int t = nums[j];
      nums[j] = nums[j - 1];
      nums[j - 1] = t;
    }
  for (int i = 0; i < k; i++) snprintf(out + strlen(out), n - strlen(out), "%d,", nums[i]);
}

int main(void) {
  char before[1024], after[1024];
  fd_numbers(before, sizeof before);
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
  fd_numbers(after, sizeof after);
  const int same = !strcmp(before, after);
  if (dprintf(3, "inherited after %d %s%s%s%s\n", (int)getpid(), now != fdf ? "fd-flags-changed" : same ? "ok" : "fds-changed ",
              same ? "" : before, same ? "" : " -> ", same ? "" : after) < 0) {
    printf("inherited: cannot write to fd 3\n");
    return 1;
  }
  printf("inherited done\n");
  return 0;
}
