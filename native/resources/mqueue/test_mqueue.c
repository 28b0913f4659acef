// POSIX message queues across a checkpoint and restore: a queue held open
// (O_RDWR|O_NONBLOCK, mode 0640, 5 × 100 bytes) with four messages of three
// priorities, a second fd of it open write-only, a queue no fd holds (made and
// closed: it lives in the IPC namespace only) with one message, and an empty
// queue a thread is blocked receiving from. Checked: each queue's attributes,
// mode and owner, every message in order with its priority, each fd's access mode
// and O_NONBLOCK, that the write-only fd reaches the same queue, and that the
// blocked thread takes a message sent after the restore.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "mqueue PASS" or what changed; "perturb": takes a message itself first (the
// check must then fail); "shared": holds the first queue's description three
// times (a dup, and a child it forks): after the restore a change of O_NONBLOCK
// by the child shows through both fds of the parent.
// shared: kept
// The queues are named after the process (its PID, as it sees it) and removed at
// the end: an uninterrupted run makes them in the host's IPC namespace.
// refused "notify": a process is registered for its notification
// refused "unlinked": removed \(mq_unlink\) while open
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATE_KIND "mqueue"
#include "../files/fd_state_check.h"

static char held[64], loose[64], waited[64], gone[64];
static mqd_t blocking;
static char got[32];

static void* receiver(void* arg) {
  (void)arg;
  unsigned prio;
  ssize_t n;
  while ((n = mq_receive(blocking, got, sizeof got, &prio)) < 0 && errno == EINTR) {}
  if (n > 0) got[n] = 0;
  return NULL;
}

static mqd_t make(const char* name, int flags, mode_t mode, long maxmsg, long msgsize) {
  struct mq_attr a = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
  mqd_t q = mq_open(name, flags | O_CREAT | O_EXCL, mode, &a);
  if (q < 0) perror(name), exit(1);
  return q;
}

static void cleanup(void) {
  mq_unlink(held), mq_unlink(loose), mq_unlink(waited);
}

int main(int argc, char** argv) {
  const int perturb = argc > 1 && !strcmp(argv[1], "perturb");
  const int shared = argc > 1 && !strcmp(argv[1], "shared");
  const char* refuse = argc > 1 ? argv[1] : "";
  const int me = getpid();
  snprintf(held, sizeof held, "/vd-held-%d", me);
  snprintf(loose, sizeof loose, "/vd-loose-%d", me);
  snprintf(waited, sizeof waited, "/vd-waited-%d", me);
  snprintf(gone, sizeof gone, "/vd-gone-%d", me);
  atexit(cleanup);
  umask(022);
  mqd_t q = make(held, O_RDWR | O_NONBLOCK, 0640, 5, 100);
  if (fchmod(q, 0640) < 0) return perror("fchmod"), 1;
  const char* msgs[] = {"low one", "high first", "high second", "lowest"};
  const unsigned prios[] = {1, 7, 7, 0};
  for (int i = 0; i < 4; i++)
    if (mq_send(q, msgs[i], strlen(msgs[i]), prios[i]) < 0) return perror("mq_send"), 1;
  mqd_t w = mq_open(held, O_WRONLY);
  if (w < 0) return perror("mq_open O_WRONLY"), 1;
  mqd_t l = make(loose, O_WRONLY, 0600, 3, 16);
  if (mq_send(l, "alone", 5, 2) < 0) return perror("mq_send"), 1;
  mq_close(l);
  blocking = make(waited, O_RDWR, 0600, 2, 32);
  pthread_t t;
  pthread_create(&t, NULL, receiver, NULL);
  int qd = -1, toChild[2], fromChild[2];
  pid_t child = -1;
  if (shared) {
    if ((qd = dup(q)) < 0 || pipe(toChild) < 0 || pipe(fromChild) < 0) return perror("dup"), 1;
    if ((child = fork()) == 0) {  // holds q too; on a byte, clears its O_NONBLOCK
      close(toChild[1]), close(fromChild[0]);
      char c;
      while (read(toChild[0], &c, 1) < 0 && errno == EINTR) {}
      fcntl(q, F_SETFL, fcntl(q, F_GETFL) & ~O_NONBLOCK);
      if (write(fromChild[1], "x", 1) != 1) _exit(1);
      while (read(toChild[0], &c, 1) != 0) {}
      _exit(0);
    }
    close(toChild[0]), close(fromChild[1]);
  }
  if (!strcmp(refuse, "notify")) {
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    if (mq_notify(q, &ev) < 0) return perror("mq_notify"), 1;
  }
  mqd_t g = -1;
  if (!strcmp(refuse, "unlinked")) {
    g = make(gone, O_RDWR, 0600, 2, 8);
    mq_unlink(gone);
  }
  usleep(100000);  // the thread is in its receive
  if (!readyThenGo()) return 1;

  char buf[128];
  unsigned prio;
  if (perturb) mq_receive(q, buf, sizeof buf, &prio);
  struct mq_attr a;
  CHECK(mq_getattr(q, &a) == 0 && a.mq_maxmsg == 5 && a.mq_msgsize == 100 && a.mq_curmsgs == 4 && (a.mq_flags & O_NONBLOCK),
        "the held queue: maxmsg %ld msgsize %ld curmsgs %ld flags %#lx", a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs, a.mq_flags);
  struct stat st;
  CHECK(fstat(q, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_uid == getuid() && st.st_gid == getgid(),
        "the held queue: mode %o owner %d:%d", st.st_mode & 07777, st.st_uid, st.st_gid);
  CHECK((fcntl(q, F_GETFL) & O_ACCMODE) == O_RDWR && (fcntl(w, F_GETFL) & O_ACCMODE) == O_WRONLY, "an fd's access mode changed");
  CHECK(!(fcntl(w, F_GETFL) & O_NONBLOCK), "the write-only fd became non-blocking");
  // in order: priority first, then arrival
  const int order[] = {1, 2, 0, 3};
  for (int i = 0; i < 4; i++) {
    ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
    if (n >= 0) buf[n] = 0;
    CHECK(n >= 0 && !strcmp(buf, msgs[order[i]]) && prio == prios[order[i]], "message %d: '%s' priority %u", i, n < 0 ? "" : buf, prio);
  }
  CHECK(mq_receive(q, buf, sizeof buf, &prio) < 0 && errno == EAGAIN, "the held queue has more messages");
  CHECK(mq_send(w, "through w", 9, 3) == 0 && mq_receive(q, buf, sizeof buf, &prio) == 9 && prio == 3, "the write-only fd reaches another queue");
  mqd_t l2 = mq_open(loose, O_RDONLY | O_NONBLOCK);
  CHECK(l2 >= 0, "the queue no fd held is gone: %s", strerror(errno));
  if (l2 >= 0) {
    CHECK(mq_getattr(l2, &a) == 0 && a.mq_maxmsg == 3 && a.mq_msgsize == 16 && a.mq_curmsgs == 1,
          "the loose queue: maxmsg %ld msgsize %ld curmsgs %ld", a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
    CHECK(fstat(l2, &st) == 0 && (st.st_mode & 07777) == 0600, "the loose queue: mode %o", st.st_mode & 07777);
    ssize_t n = mq_receive(l2, buf, sizeof buf, &prio);
    CHECK(n == 5 && !memcmp(buf, "alone", 5) && prio == 2, "the loose queue's message");
  }
  // the thread blocked in its receive across the restore takes one sent now
  CHECK(mq_send(blocking, "wake", 4, 0) == 0, "cannot send to the waited queue");
  pthread_join(t, NULL);
  CHECK(!strcmp(got, "wake"), "the blocked receiver got '%s'", got);
  (void)g;
  if (shared) {  // one description: the child's change is the parent's
    CHECK(fcntl(qd, F_GETFL) & O_NONBLOCK, "the dup lost O_NONBLOCK");
    char c;
    CHECK(write(toChild[1], "x", 1) == 1 && read(fromChild[0], &c, 1) == 1, "the child does not answer");
    CHECK(!(fcntl(q, F_GETFL) & O_NONBLOCK) && !(fcntl(qd, F_GETFL) & O_NONBLOCK), "the child's fd is not the parent's description");
    close(toChild[1]);
    waitpid(child, NULL, 0);
  }
  if (!fails) printf("mqueue PASS\n");
  return fails ? 1 : 0;
}
