// Takes a given PID (as root: clone3 with set_tid) and holds it: the child
// sleeps SECONDS in that PID; the parent prints "held PID" and exits.
//   holdpid PID SECONDS
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  pid_t want = atoi(argv[1]);
  struct clone_args args = {.exit_signal = SIGCHLD, .set_tid = (uint64_t)(uintptr_t)&want, .set_tid_size = 1};
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) {
    perror("clone3");
    return 1;
  }
  if (pid == 0) {
    // let go of the caller's pipes: it waits for them to close
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    sleep((unsigned)atoi(argv[2]));
    _exit(0);
  }
  printf("held %ld\n", pid);
  return 0;
}
