// signalfd's state across a checkpoint and restore: its mask (a standard and a
// real-time signal), O_NONBLOCK, close-on-exec, and the signals it would read
// (pending on the process: a SIGUSR1, a queued SIGRTMIN+3 with its value).
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "signalfd PASS" or what changed; "perturb": changes its mask itself first (the
// check must then fail); "shared": holds it twice (dup), which checkpoint refuses.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define STATE_KIND "signalfd"
#include "../files/fd_state_check.h"

// its mask as fdinfo shows it (~0 when it shows none)
static unsigned long long fdinfoMask(int fd) {
  char v[64];
  fdinfo(fd, "sigmask", v, sizeof v);
  return v[0] ? strtoull(v, 0, 16) : ~0ULL;
}

int main(int argc, char** argv) {
  const int perturb = argc > 1 && !strcmp(argv[1], "perturb");
  const int shared = argc > 1 && !strcmp(argv[1], "shared");
  const int rt = SIGRTMIN + 3;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, rt);
  sigprocmask(SIG_BLOCK, &m, 0);
  int sfd = signalfd(-1, &m, SFD_NONBLOCK);
  sigset_t only2;
  sigemptyset(&only2);
  sigaddset(&only2, SIGUSR2);
  int other = signalfd(-1, &only2, SFD_CLOEXEC);  // blocking, SIGUSR2 (not blocked: never pending)
  if (sfd < 0 || other < 0) return perror("signalfd"), 1;
  if (shared && dup(sfd) < 0) return perror("dup"), 1;
  kill(getpid(), SIGUSR1);
  union sigval v = {.sival_int = 77};
  sigqueue(getpid(), rt, v);
  const unsigned long long want = (1ULL << (SIGUSR1 - 1)) | (1ULL << (rt - 1));
  if (!readyThenGo()) return 1;

  if (perturb) {
    sigaddset(&m, SIGUSR2);
    signalfd(sfd, &m, 0);
  }
  CHECK(fdinfoMask(sfd) == want, "its mask is %llx, not %llx", fdinfoMask(sfd), want);
  CHECK(fdinfoMask(other) == 1ULL << (SIGUSR2 - 1), "the other's mask is %llx", fdinfoMask(other));
  CHECK(fcntl(sfd, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
  CHECK(!(fcntl(sfd, F_GETFD) & FD_CLOEXEC), "close-on-exec set");
  CHECK(fcntl(other, F_GETFD) & FD_CLOEXEC, "close-on-exec lost");
  CHECK(!(fcntl(other, F_GETFL) & O_NONBLOCK), "the other became non-blocking");
  struct signalfd_siginfo si[2];
  ssize_t n = read(sfd, si, sizeof si);
  CHECK(n == sizeof si, "read %zd bytes of pending signals, not two", n);
  if (n == sizeof si) {
    CHECK(si[0].ssi_signo == SIGUSR1, "the first signal read is %u", si[0].ssi_signo);
    CHECK(si[1].ssi_signo == (unsigned)rt && si[1].ssi_int == 77, "the second is %u value %d", si[1].ssi_signo, si[1].ssi_int);
  }
  CHECK(read(sfd, si, sizeof si) < 0 && errno == EAGAIN, "more signals pending");
  if (!fails) printf("signalfd PASS\n");
  return fails ? 1 : 0;
}
