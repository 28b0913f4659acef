// Job control as a shell does it, without a terminal: a child stops itself
// (SIGSTOP: a SIGTSTP would be discarded when the test runs in an orphaned
// process group), the parent sees it stopped (waitid WSTOPPED|WNOWAIT, which leaves
// the report, then waitpid WUNTRACED, which takes it), continues it (SIGCONT by its PID) and reaps it. A stop
// reported is no reap: the child's PID must stay valid throughout.
//
// Prints: jobctl stopped=ok cont=ok reaped=ok   (BAD for a step that failed)
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t c = fork();
  if (c == 0) {
    raise(SIGSTOP);
    _exit(7);
  }
  siginfo_t si = {0};
  int w;
  while ((w = waitid(P_PID, (id_t)c, &si, WSTOPPED | WEXITED | WNOWAIT)) < 0 && errno == EINTR) {}
  int st = 0;
  pid_t r;
  while ((r = waitpid(c, &st, WUNTRACED)) < 0 && errno == EINTR) {}
  int stopped = w == 0 && si.si_pid == c && si.si_code == CLD_STOPPED && r == c && WIFSTOPPED(st) &&
                WSTOPSIG(st) == SIGSTOP;
  int cont = kill(c, SIGCONT) == 0;
  while ((r = waitpid(c, &st, 0)) < 0 && errno == EINTR) {}
  int reaped = r == c && WIFEXITED(st) && WEXITSTATUS(st) == 7;
  printf("jobctl stopped=%s cont=%s reaped=%s\n", stopped ? "ok" : "BAD", cont ? "ok" : "BAD", reaped ? "ok" : "BAD");
  return 0;
}
