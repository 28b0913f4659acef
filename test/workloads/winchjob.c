// A full-screen program as people start it, directly under `vdomain run`: it stays
// in the group it was started in (the one vdomain run leads), turns the terminal
// raw and redraws on SIGWINCH. Restored onto a terminal, of another size or not,
// it must be told to redraw (one SIGWINCH) and find its settings as it left them.
//
//   winchjob        (stdin: a terminal)
//
// Prints "ready", waits about 3 s (in short sleeps; up to 1 s more while no
// SIGWINCH came), then one line:
//   winch termios=ok|BAD size=ROWSxCOLS winch=N
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t winches;
static void onWinch(int sig) { winches += sig == SIGWINCH; }

static void pause10ms(void) {
  struct timespec t = {0, 10 * 1000 * 1000};
  nanosleep(&t, NULL);
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = onWinch;
  sigaction(SIGWINCH, &sa, NULL);
  if (!isatty(0)) {
    printf("winch no-terminal\n");
    return 1;
  }
  struct termios was, raw;
  tcgetattr(0, &was);
  raw = was;
  raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 3;
  tcsetattr(0, TCSANOW, &raw);
  printf("ready\n");
  fflush(stdout);
  for (int i = 0; i < 300; i++) pause10ms();
  for (int i = 0; i < 100 && !winches; i++) pause10ms();
  struct termios now;
  tcgetattr(0, &now);
  int termios_ok = !(now.c_lflag & (ECHO | ICANON)) && now.c_cc[VMIN] == 1 && now.c_cc[VTIME] == 3;
  struct winsize ws = {0};
  ioctl(0, TIOCGWINSZ, &ws);
  printf("winch termios=%s size=%dx%d winch=%d\n", termios_ok ? "ok" : "BAD", ws.ws_row, ws.ws_col, (int)winches);
  tcsetattr(0, TCSANOW, &was);
  return 0;
}
