// Process and thread attributes a restore must bring back: supplementary groups
// (root), oom_score_adj, loginuid (root sets one), child subreaper, parent death
// signal, dumpable, keepcaps/securebits, timer slack, I/O flusher (root), the
// speculation control, the MCE kill policy, membarrier registrations, a pending
// blocked SIGTRAP (main thread) and a blocked one not pending (a second thread).
//
//   attrs GO-FILE [nodump]
//
// Sets them all, prints "ready <what it reads>", then waits until GO-FILE exists
// (the test makes it once the job was checkpointed with --kill), reads them all
// again and prints "attrs PASS" or "attrs CHANGED" and each that changed.
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9)
#endif

struct attrs {
  char groups[256];
  long oom, loginuid, subreaper, pdeathsig, dumpable, securebits, timerslack, ioflusher, ssb, mce, membarrier;
  long barrier_works, trap_pending, trap_blocked;
};

static long read_number(const char *path) {
  char buf[32] = {0};
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -999;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? strtol(buf, NULL, 10) : -999;
}

static void write_number(const char *path, long v) {
  char buf[32];
  int fd = open(path, O_WRONLY);
  int n = snprintf(buf, sizeof buf, "%ld", v);
  if (fd < 0 || write(fd, buf, n) != n) perror(path);
  if (fd >= 0) close(fd);
}

// SIGTRAP in this thread's mask, and in what is pending for it
static void trap_state(long *pending, long *blocked) {
  sigset_t set;
  sigpending(&set);
  *pending = sigismember(&set, SIGTRAP);
  pthread_sigmask(SIG_BLOCK, NULL, &set);
  *blocked = sigismember(&set, SIGTRAP);
}

static void read_attrs(struct attrs *a) {
  memset(a, 0, sizeof *a);
  gid_t g[32];
  int n = getgroups(32, g);
  for (int i = 0; i < n; i++)
    snprintf(a->groups + strlen(a->groups), sizeof a->groups - strlen(a->groups), "%s%u", i ? "," : "", g[i]);
  a->oom = read_number("/proc/self/oom_score_adj");
  a->loginuid = read_number("/proc/self/loginuid");
  int v = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &v);
  a->subreaper = v;
  v = 0;
  prctl(PR_GET_PDEATHSIG, &v);
  a->pdeathsig = v;
  a->dumpable = prctl(PR_GET_DUMPABLE);
  a->securebits = prctl(PR_GET_SECUREBITS);
  a->timerslack = prctl(PR_GET_TIMERSLACK);
  a->ioflusher = getuid() == 0 ? prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) : -1;
  a->ssb = prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0);
  a->mce = prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
  a->membarrier = syscall(SYS_membarrier, MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
  a->barrier_works = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
  trap_state(&a->trap_pending, &a->trap_blocked);
}

static void print_attrs(const char *tag, const struct attrs *a) {
  printf("%s groups=%s oom=%ld loginuid=%ld subreaper=%ld pdeathsig=%ld dumpable=%ld securebits=%ld timerslack=%ld "
         "ioflusher=%ld ssb=%ld mce=%ld membarrier=%ld barrier=%ld trap-pending=%ld trap-blocked=%ld\n",
         tag, a->groups, a->oom, a->loginuid, a->subreaper, a->pdeathsig, a->dumpable, a->securebits, a->timerslack,
         a->ioflusher, a->ssb, a->mce, a->membarrier, a->barrier_works, a->trap_pending, a->trap_blocked);
}

static const char *go_file;
static int changed;

static void wait_for_go(void) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  for (int i = 0; i < 60 * 50 && access(go_file, F_OK) != 0; i++) nanosleep(&ts, NULL);
}

// The second thread: SIGTRAP blocked (inherited), nothing pending for it; its own timer slack.
static void *other_thread(void *arg) {
  (void)arg;
  prctl(PR_SET_TIMERSLACK, 777000);
  long pending, blocked;
  trap_state(&pending, &blocked);
  long slack = prctl(PR_GET_TIMERSLACK);
  wait_for_go();
  long pending2, blocked2;
  trap_state(&pending2, &blocked2);
  long slack2 = prctl(PR_GET_TIMERSLACK);
  if (pending2 != pending || blocked2 != blocked || slack2 != slack) {
    printf("thread: trap-pending %ld->%ld trap-blocked %ld->%ld timerslack %ld->%ld\n", pending, pending2, blocked,
           blocked2, slack, slack2);
    changed = 1;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  go_file = argv[1];
  const int root = getuid() == 0;
  if (root) {
    gid_t g[] = {4242, 4243};
    if (setgroups(2, g) < 0) perror("setgroups");
    write_number("/proc/self/loginuid", 4242);
    if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0) perror("PR_SET_IO_FLUSHER");
    if (prctl(PR_SET_SECUREBITS, 1 /* SECBIT_NOROOT */ | 1 << 4 /* SECBIT_KEEP_CAPS */) < 0) perror("PR_SET_SECUREBITS");
  } else {
    prctl(PR_SET_KEEPCAPS, 1);
  }
  write_number("/proc/self/oom_score_adj", 123);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  prctl(PR_SET_PDEATHSIG, SIGURG);
  if (argc > 2 && !strcmp(argv[2], "nodump")) prctl(PR_SET_DUMPABLE, 0);
  prctl(PR_SET_TIMERSLACK, 123456);
  prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, PR_SPEC_DISABLE, 0, 0);
  prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) < 0) perror("membarrier");
  sigset_t trap;
  sigemptyset(&trap);
  sigaddset(&trap, SIGTRAP);
  pthread_sigmask(SIG_BLOCK, &trap, NULL);
  pthread_t t;
  pthread_create(&t, NULL, other_thread, NULL);
  syscall(SYS_tgkill, getpid(), gettid(), SIGTRAP);  // pending for the main thread alone

  struct attrs before, after;
  read_attrs(&before);
  print_attrs("ready", &before);
  fflush(stdout);
  wait_for_go();
  read_attrs(&after);
  pthread_join(t, NULL);
  if (memcmp(&before, &after, sizeof before)) {
    print_attrs("before", &before);
    print_attrs("after", &after);
    changed = 1;
  }
  printf("attrs %s\n", changed ? "CHANGED" : "PASS");
  return 0;
}
