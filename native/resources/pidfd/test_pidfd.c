// pidfd's state across a checkpoint and restore: a pidfd of a child (from
// pidfd_open), one of the process itself, PIDFD_NONBLOCK, close-on-exec. After the
// restore each must still refer to its process (as restored, whatever its PID
// is then): the child is alive (waitid WNOHANG), takes a signal sent through its
// pidfd, and its exit status is read through it; the pidfd polls readable once
// the child has ended.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "pidfd PASS" or what changed; "perturb": kills the child first (the check
// must then fail); "shared": holds one twice (dup), refused.
// refused "outside": a process outside the domain
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATE_KIND "pidfd"
#include "../files/fd_state_check.h"

static int pidfd_open(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig) { return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0); }

static int up[2];
static void onUsr1(int sig) {
  (void)sig;
  if (write(up[1], "s", 1) < 0) {}
}

int main(int argc, char** argv) {
  const int perturb = argc > 1 && !strcmp(argv[1], "perturb");
  const int shared = argc > 1 && !strcmp(argv[1], "shared");
  const int outside = argc > 1 && !strcmp(argv[1], "outside");
  if (pipe(up)) return perror("pipe"), 1;
  pid_t child = fork();
  if (child == 0) {
    signal(SIGUSR1, onUsr1);
    for (;;) pause();  // until SIGTERM
  }
  int ofChild = pidfd_open(child, O_NONBLOCK /* PIDFD_NONBLOCK */);
  int ofSelf = pidfd_open(getpid(), 0);
  if (ofChild < 0 || ofSelf < 0) return perror("pidfd_open"), 1;
  if (fcntl(ofSelf, F_SETFD, 0) < 0) return 1;  // one without close-on-exec
  if (shared && dup(ofChild) < 0) return perror("dup"), 1;
  if (outside && pidfd_open(1, 0) < 0) return perror("pidfd_open(1)"), 1;  // init: outside every domain
  usleep(50000);  // the child has its handler
  if (!readyThenGo()) return 1;

  if (perturb) kill(child, SIGKILL), usleep(100000);
  CHECK(fcntl(ofChild, F_GETFL) & O_NONBLOCK, "PIDFD_NONBLOCK lost");
  CHECK(fcntl(ofChild, F_GETFD) & FD_CLOEXEC, "close-on-exec lost");
  CHECK(!(fcntl(ofSelf, F_GETFD) & FD_CLOEXEC), "close-on-exec set");
  CHECK(pidfd_send_signal(ofSelf, 0) == 0, "the pidfd of the process itself: %s", strerror(errno));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK(waitid(P_PIDFD, ofChild, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0, "the child is not alive through its pidfd (%s)",
        strerror(errno));
  struct pollfd pf = {ofChild, POLLIN, 0};
  CHECK(poll(&pf, 1, 0) == 0, "the child's pidfd polls readable while it lives");
  // a signal through the pidfd reaches the child, whose handler answers
  char got = 0;
  CHECK(pidfd_send_signal(ofChild, SIGUSR1) == 0, "cannot signal the child through its pidfd: %s", strerror(errno));
  struct pollfd answer = {up[0], POLLIN, 0};
  CHECK(poll(&answer, 1, 2000) == 1 && read(up[0], &got, 1) == 1 && got == 's', "the child did not get the signal");
  CHECK(pidfd_send_signal(ofChild, SIGTERM) == 0, "cannot end the child: %s", strerror(errno));
  pf.revents = 0;
  CHECK(poll(&pf, 1, 5000) == 1 && (pf.revents & POLLIN), "the child's pidfd does not poll readable once it ended");
  memset(&si, 0, sizeof si);
  CHECK(waitid(P_PIDFD, ofChild, &si, WEXITED) == 0 && si.si_pid == child && si.si_code == CLD_KILLED && si.si_status == SIGTERM,
        "its end through the pidfd: pid %d (child %d) code %d status %d", si.si_pid, child, si.si_code, si.si_status);
  if (!fails) printf("pidfd PASS\n");
  return fails ? 1 : 0;
}
