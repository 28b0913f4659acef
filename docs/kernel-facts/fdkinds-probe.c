#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/signalfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
static void show(const char *what, int fd) {
  char p[64], buf[4096]; snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  int f = open(p, O_RDONLY); ssize_t n = read(f, buf, sizeof buf - 1); close(f);
  buf[n > 0 ? n : 0] = 0;
  char l[256]; snprintf(p, sizeof p, "/proc/self/fd/%d", fd); ssize_t k = readlink(p, l, sizeof l - 1); l[k > 0 ? k : 0] = 0;
  printf("== %s fd %d -> %s\n%s", what, fd, l, buf);
}
int main(void) {
  int ev = eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK); show("eventfd", ev);
  int tf = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec its = {{1, 500}, {30, 0}}; timerfd_settime(tf, 0, &its, NULL); show("timerfd rel", tf);
  int tf2 = timerfd_create(CLOCK_REALTIME, 0); struct timespec now; clock_gettime(CLOCK_REALTIME, &now);
  struct itimerspec a = {{0, 0}, {now.tv_sec + 100, 0}}; timerfd_settime(tf2, TFD_TIMER_ABSTIME, &a, NULL); show("timerfd abs", tf2);
  int tf3 = timerfd_create(CLOCK_MONOTONIC, 0); struct itimerspec q = {{0, 1000000}, {0, 1000000}}; timerfd_settime(tf3, 0, &q, NULL); usleep(20000); show("timerfd ticks", tf3);
  sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGRTMIN+2); int sf = signalfd(-1, &m, SFD_CLOEXEC); show("signalfd", sf);
  int in = inotify_init1(IN_NONBLOCK); inotify_add_watch(in, "/tmp", IN_CREATE | IN_DELETE); inotify_add_watch(in, "/etc/passwd", IN_MODIFY|IN_ONESHOT); show("inotify", in);
  int ep = epoll_create1(0); struct epoll_event e = {EPOLLIN | EPOLLET, {.u64 = 0x1122334455667788}}; epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e);
  struct epoll_event e2 = {EPOLLIN | EPOLLONESHOT, {.u64 = 7}}; epoll_ctl(ep, EPOLL_CTL_ADD, tf, &e2);
  int ep2 = epoll_create1(0); struct epoll_event e3 = {EPOLLIN, {.u64 = 9}}; epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &e3);
  show("epoll", ep); show("epoll nested", ep2);
  int pf = syscall(SYS_pidfd_open, getpid(), 0); show("pidfd", pf);
  int mf = memfd_create("mine", MFD_ALLOW_SEALING); write(mf, "abc", 3); fcntl(mf, F_ADD_SEALS, F_SEAL_SHRINK); show("memfd", mf);
  timer_t t; struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2, .sigev_value.sival_int = 42};
  timer_create(CLOCK_MONOTONIC, &sev, &t); struct itimerspec ti = {{2, 0}, {50, 0}}; timer_settime(t, 0, &ti, NULL);
  char buf[4096]; int f = open("/proc/self/timers", O_RDONLY); ssize_t n = read(f, buf, sizeof buf - 1); buf[n > 0 ? n : 0] = 0; printf("== /proc/self/timers\n%s", buf);
  return 0;
}
