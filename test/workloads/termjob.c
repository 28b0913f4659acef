// A job on a terminal, as an interactive program runs: it leads its own process
// group, takes the terminal's foreground, turns echo and line editing off, and
// has a child in its group. Checkpointed and restored onto another terminal it
// must find all of that as it left it.
//
//   termjob        (stdin: a terminal)
//
// Prints "ready", waits about 2 s (in short sleeps), then checks its terminal and
// does job control as a shell would: the child stops itself (SIGTSTP), the
// parent sees it stopped, takes the foreground back, continues it and reaps it.
// One line, with the terminal's size then and the SIGWINCHs it got (a restore
// onto a terminal of another size must tell it, as a resize would):
//   term termios=ok|BAD fg=ok|BAD group=ok|BAD jobctl=ok|BAD size=ROWSxCOLS winch=N
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t winches;
static void onWinch(int sig) { winches += sig == SIGWINCH; }

int main(void) {
  signal(SIGWINCH, onWinch);
  sigset_t ttou;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, NULL);  // tcsetpgrp from the background
  if (!isatty(0) || setpgid(0, 0) < 0 || tcsetpgrp(0, getpgrp()) < 0) {
    printf("term no-terminal\n");
    return 1;
  }
  struct termios was, raw;
  tcgetattr(0, &was);
  raw = was;
  raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 3;
  tcsetattr(0, TCSANOW, &raw);
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < 300; i++) {
      struct timespec t = {0, 10 * 1000 * 1000};
      nanosleep(&t, NULL);
    }
    int in_group = getpgrp() == getppid();
    raise(SIGTSTP);  // stopped until the parent continues it
    _exit(in_group ? 0 : 1);
  }
  printf("ready\n");
  fflush(stdout);
  for (int i = 0; i < 200; i++) {
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  struct termios now;
  tcgetattr(0, &now);
  int termios_ok = !(now.c_lflag & (ECHO | ICANON)) && now.c_cc[VMIN] == 1 && now.c_cc[VTIME] == 3;
  int fg_ok = tcgetpgrp(0) == getpid() && getpgrp() == getpid();
  int st = -1;
  pid_t r;
  while ((r = waitpid(child, &st, WUNTRACED)) < 0 && errno == EINTR) {}
  int jobctl_ok = r == child && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTSTP;
  jobctl_ok = jobctl_ok && tcsetpgrp(0, getpgrp()) == 0 && tcgetpgrp(0) == getpgrp() && kill(child, SIGCONT) == 0;
  while ((r = waitpid(child, &st, 0)) < 0 && errno == EINTR) {}
  jobctl_ok = jobctl_ok && r == child;
  struct winsize ws = {0};
  ioctl(0, TIOCGWINSZ, &ws);
  printf("term termios=%s fg=%s group=%s jobctl=%s size=%dx%d winch=%d\n", termios_ok ? "ok" : "BAD", fg_ok ? "ok" : "BAD",
         WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "BAD", jobctl_ok ? "ok" : "BAD", ws.ws_row, ws.ws_col, (int)winches);
  tcsetattr(0, TCSANOW, &was);
  return 0;
}
