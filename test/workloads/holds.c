// A job holding one thing checkpoint must refuse (not supported yet), to check
// the refusal names it and leaves the job running:
//
//   holds WHAT      WHAT: timer | seccomp | inotify | fanotify | memfd | fifo | aio, or
//                   mainexit (the main thread ends, another thread runs on), or
//                   a SysV object it uses: sem | msg | shm, or a POSIX message
//                   queue: mqueue (removed before it ends)
//
// Prints "ready", sleeps 2 s, prints "survived" (after its child ends).
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <mqueue.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *lastThread(void *arg) {
  (void)arg;
  sleep(2);
  printf("survived\n");
  exit(0);
}

static int semId = -1, msgId = -1, shmId = -1;

static char mqName[64];

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *what = argv[1];
  if (!strcmp(what, "timer")) {
    timer_t t;
    // (timers of the process's clocks are restored; one of a thread's CPU-time
    // clock is not: the restore could not name that clock again)
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &t) < 0) return 1;
  } else if (!strcmp(what, "seccomp")) {
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {1, &allow};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) return 1;
  } else if (!strcmp(what, "inotify")) {
    // (an instance is restored; a watch of a file no path names now is not)
    char file[] = "/tmp/holds-inotify-XXXXXX";
    int fd = mkstemp(file), in = inotify_init1(0);
    if (fd < 0 || in < 0 || inotify_add_watch(in, file, IN_ATTRIB | IN_DELETE_SELF) < 0) return 1;
    unlink(file);
  } else if (!strcmp(what, "fanotify")) {
    // (unprivileged too: a group reporting file handles, one inode mark)
    int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID, O_RDONLY);
    if (fd < 0 || fanotify_mark(fd, FAN_MARK_ADD, FAN_CLOSE_WRITE, AT_FDCWD, "/tmp") < 0) return 1;
  } else if (!strcmp(what, "memfd")) {
    // (a memfd is restored; one sealed F_SEAL_FUTURE_WRITE is not yet)
    int fd = memfd_create("holds", MFD_ALLOW_SEALING);
    if (fd < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0) return 1;
  } else if (!strcmp(what, "mainexit")) {
    pthread_t t;
    printf("ready\n");
    fflush(stdout);
    if (pthread_create(&t, NULL, lastThread, NULL)) return 1;
    pthread_exit(NULL);
  } else if (!strcmp(what, "sem")) {
    struct sembuf up = {0, 1, 0};
    if ((semId = semget(IPC_PRIVATE, 1, 0600)) < 0 || semop(semId, &up, 1) < 0) return 1;
  } else if (!strcmp(what, "msg")) {
    struct { long type; char text[8]; } m = {1, "hello"};
    if ((msgId = msgget(IPC_PRIVATE, 0600)) < 0 || msgsnd(msgId, &m, sizeof m.text, 0) < 0) return 1;
  } else if (!strcmp(what, "shm")) {
    void *at;
    if ((shmId = shmget(IPC_PRIVATE, 4096, 0600)) < 0 || (at = shmat(shmId, NULL, 0)) == (void *)-1) return 1;
    shmdt(at);  // created, not attached now: seen by its creator's PID
  } else if (!strcmp(what, "mqueue")) {
    snprintf(mqName, sizeof mqName, "/holds-%d", getpid());
    if (mq_open(mqName, O_RDWR | O_CREAT | O_EXCL, 0600, NULL) < 0) return 1;
  } else if (!strcmp(what, "aio")) {
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, 8, &ctx) < 0) return 1;
  } else if (!strcmp(what, "fifo")) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/holds-fifo-%d", getpid());
    if (mkfifo(path, 0600) < 0 || open(path, O_RDWR) < 0) return 1;
    unlink(path);
  } else {
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  sleep(2);
  if (semId >= 0) semctl(semId, 0, IPC_RMID);
  if (msgId >= 0) msgctl(msgId, IPC_RMID, NULL);
  if (shmId >= 0) shmctl(shmId, IPC_RMID, NULL);
  if (mqName[0]) mq_unlink(mqName);
  printf("survived\n");
  return 0;
}
