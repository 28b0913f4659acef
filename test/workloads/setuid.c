// A job started as root that drops to uid/gid 65534 after start (after an
// mlock, as a daemon would) and keeps working: its credentials, capabilities,
// groups, limits and dumpable flag must come back as they were after the drop.
//
//   setuid GO-FILE
//
// Prints "ready <creds>", waits until GO-FILE exists, prints "setuid PASS" or
// "setuid CHANGED" with the before and after lines.
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static void creds(char *out, size_t len) {
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  gid_t g[16];
  int n = getgroups(16, g);
  char caps[256] = "";
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "Cap", 3)) {
      line[strcspn(line, "\n")] = ' ';
      strncat(caps, line, sizeof caps - strlen(caps) - 1);
    }
  if (f) fclose(f);
  snprintf(out, len, "uid=%u,%u,%u gid=%u,%u,%u groups=%d dumpable=%d %s", r, e, s, gr, ge, gs, n,
           prctl(PR_GET_DUMPABLE), caps);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  static char page[4096];
  mlock(page, sizeof page);
  gid_t none[] = {65534};
  if (setgroups(1, none) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0) {
    perror("drop");
    return 1;
  }
  char before[512], after[512];
  creds(before, sizeof before);
  printf("ready %s\n", before);
  fflush(stdout);
  struct timespec ts = {0, 20 * 1000 * 1000};
  unsigned long work = 0;
  for (int i = 0; i < 60 * 50 && access(argv[1], F_OK) != 0; i++) {
    nanosleep(&ts, NULL);
    page[i % sizeof page] = (char)i;  // keeps working on its locked page
    work++;
  }
  creds(after, sizeof after);
  if (strcmp(before, after)) printf("before %s\nafter  %s\nsetuid CHANGED\n", before, after);
  else printf("setuid PASS\n");
  return 0;
}
