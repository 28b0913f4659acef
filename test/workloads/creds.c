// The credentials a restored job runs with: prints "ready", sleeps ITERATIONS ×
// 10 ms (a checkpoint lands in between), then one line:
//   creds uid=R,E,S gid=R,E,S groups=G1,G2…
//
//   creds ITERATIONS
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100;
  printf("ready\n");
  fflush(stdout);
  struct timespec ts = {0, 10 * 1000 * 1000};
  for (int i = 0; i < n; i++) nanosleep(&ts, NULL);
  uid_t ru, eu, su;
  gid_t rg, eg, sg, groups[256];
  getresuid(&ru, &eu, &su);
  getresgid(&rg, &eg, &sg);
  int k = getgroups(256, groups);
  printf("creds uid=%u,%u,%u gid=%u,%u,%u groups=", ru, eu, su, rg, eg, sg);
  for (int i = 0; i < k; i++) printf("%s%u", i ? "," : "", groups[i]);
  printf("\n");
  return 0;
}
