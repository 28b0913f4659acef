// A job that daemonises, as daemons do: the root forks and exits (status 3), its
// child starts a session of its own (setsid) and forks the daemon, which works on;
// a second child of the root stays in the job's session and group (an orphan, as
// `cmd &` in a script that ends). The two workers count steps, each from its own
// seed, and print what they computed at the end, once each has checked its session
// and group: the daemon's still those its (gone) parent led, the orphan's still
// not its own (it stayed in the root's).
//
//   daemonjob STEPS [MS]      each worker does STEPS steps of MS ms (default 20)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// want_sid, want_pgid: the session and group it must still be in; 0: any but its own
// (the job's session from outside the domain is the restoring command's after a restore)
static void work(const char *who, uint64_t seed, int steps, int ms, pid_t want_sid, pid_t want_pgid) {
  printf("ready %s\n", who);
  fflush(stdout);
  uint64_t x = seed;
  for (int i = 0; i < steps; i++) {
    for (int k = 0; k < 1000; k++) x = x * 6364136223846793005ull + 1442695040888963407ull;
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
  }
  const pid_t me = getpid();
  if (want_sid ? getsid(0) != want_sid || getpgrp() != want_pgid : getsid(0) == me || getpgrp() == me)
    printf("%s FAIL sid %d (want %d) pgid %d (want %d)\n", who, getsid(0), want_sid, getpgrp(), want_pgid);
  else
    printf("%s x=%016llx\n", who, (unsigned long long)x);
  fflush(stdout);
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 50;
  int ms = argc > 2 ? atoi(argv[2]) : 20;
  setvbuf(stdout, NULL, _IOLBF, 0);
  pid_t orphan = fork();
  if (orphan == 0) {
    usleep(100 * 1000);  // until the root is gone
    work("orphan", 1, steps, ms, 0, 0);
    return 0;
  }
  pid_t first = fork();
  if (first == 0) {
    if (setsid() < 0) return perror("setsid"), 1;
    const pid_t leader = getpid();
    pid_t daemon = fork();
    if (daemon == 0) {
      usleep(100 * 1000);  // until its parent is gone too
      work("daemon", 2, steps, ms, leader, leader);
      return 0;
    }
    return 0;
  }
  waitpid(first, NULL, 0);
  return 3;
}
