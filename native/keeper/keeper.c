// vdomain-keeper: the domain's subreaper and guard.
//
//   supervisor (node) ── keeper (this, PR_SET_CHILD_SUBREAPER) ── job root ── …
//
// Why a separate process: when the supervisor of a remapped domain dies, every
// notified call of the job would fail with ENOSYS and the job would run on
// half-virtualised. The keeper watches its control socket; when the supervisor end
// closes, it kills every process below it. An identity domain has nothing to
// translate: its job runs on unsupervised (a 3-day job must not die with a crashed
// supervisor), unless the supervisor died while it had injected syscalls into it. Being a subreaper, every process of the domain (daemons that
// double-forked included) stays below it, so "below the keeper" = "the domain".
// It also reaps orphans and reports each reaped child's wait status, so the
// supervisor learns the root's exit status and when the domain is empty.
//
// Usage (started by the supervisor only): vdomain-keeper CTL_FD BOOT_FD IPC CMD ARGS...
//                                     or: vdomain-keeper CTL_FD BOOT_FD IPC --restore PID [SYSV]
// IPC: "own" (the domain gets an IPC namespace of its own, see own_ipc_namespace)
// or "host"; SYSV: the image's SysV objects, made again before the root (native/resources/sysv/keeper_sysv.c).
// In a restore, the root is made with PID if the kernel allows (clone3 set_tid)
// and becomes the image's process through the restorer (restore_child.c); the
// supervisor sends the plan on BOOT, then the page file (SCM_RIGHTS).
// Protocol on CTL (lines, keeper → supervisor):  "S <root pid> <1: own IPC namespace>",
// "X <pid> <wstatus>", "P <errno>" (SysV dump done), "V <errno> <object>" (a SysV
// object could not be made again: the restore ends).
// Bytes, supervisor → keeper: "K" end the domain; "I" the domain is identity (its
// job survives the supervisor); "C" / "c" the supervisor begins / ends changing
// the job's state from outside (then the job must not outlive it); "P" with a file
// (SCM_RIGHTS): dump the domain's SysV objects into it; "A" the restore is done.
// Protocol on BOOT (root child ⇄ supervisor): supervisor sends u32 length + BPF
// program; the root installs it, sends the listener fd (SCM_RIGHTS) and execs;
// length 0 means no filter (identity domain: the root answers "N"); on exec
// failure it sends "E" + errno.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keeper.h"
#include "keeper_io.h"
#include "restorer/plan.h"


static int ctl_fd;

static void say(const char *fmt, long a, long b) {
  char line[64];
  int n = snprintf(line, sizeof line, fmt, a, b);
  if (write(ctl_fd, line, n) < 0) { /* supervisor gone: the EOF path handles it */ }
}


// The job root: install the domain's filter, hand the listener over, exec.
static void become_root(int boot_fd, char **argv) {
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);

  uint32_t len;
  if (read_full(boot_fd, &len, sizeof len) < 0 || len > 4096 * 8) _exit(125);
  if (len == 0) {
    // identity domain: nothing to translate, so no filter at all (any seccomp
    // filter costs every syscall ~50 ns on this kernel, matched or not)
    if (write(boot_fd, "N", 1) != 1) _exit(125);
  } else {
    struct sock_filter *insns = malloc(len);
    if (!insns || read_full(boot_fd, insns, len) < 0) _exit(125);
    struct sock_fprog prog = {.len = (unsigned short)(len / sizeof *insns), .filter = insns};
    // Without CAP_SYS_ADMIN the kernel demands no_new_privs for a filter. As root
    // we leave it off so setuid programs inside the job keep working.
    if (geteuid() != 0) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, VD_FILTER_FLAGS, &prog);
    if (listener < 0) {
      char msg[1 + sizeof(int)] = {'F'};
      int e = errno;
      memcpy(msg + 1, &e, sizeof e);
      if (write(boot_fd, msg, sizeof msg) < 0) {}
      _exit(125);
    }
    if (send_fd(boot_fd, (int)listener, 'L') < 0) _exit(125);
    close((int)listener);
  }

  // The supervisor (node) may have left O_NONBLOCK on shared stdio descriptions.
  for (int fd = 0; fd <= 2; fd++) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
  execvp(argv[0], argv);
  char msg[1 + sizeof(int)] = {'E'};
  int e = errno;
  memcpy(msg + 1, &e, sizeof e);
  if (write(boot_fd, msg, sizeof msg) < 0) {}
  _exit(e == ENOENT ? 127 : 126);
}

// The domain's own IPC namespace: its SysV keys and ids are its own, its objects
// are exactly those a checkpoint must take, and they go with the domain. Without
// root this needs a user namespace too, mapping only the user's own uid and gid
// (others show as the overflow id inside). 1 when made; 0 when the kernel will not
// (the job then shares the host's, and checkpoint refuses the SysV objects it uses).
static int own_ipc_namespace(void) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (uid == 0) return unshare(CLONE_NEWIPC) == 0;
  if (unshare(CLONE_NEWUSER | CLONE_NEWIPC) < 0) return 0;
  char map[64];
  const char *files[] = {"/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map"};
  for (int i = 0; i < 3; i++) {
    int n = i == 0 ? snprintf(map, sizeof map, "deny")
                   : snprintf(map, sizeof map, "%u %u 1", i == 1 ? uid : gid, i == 1 ? uid : gid);
    int fd = open(files[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, n) != n) {
      fprintf(stderr, "vdomain-keeper: cannot map the user in its namespace (%s)\n", files[i]);
      _exit(2);
    }
    close(fd);
  }
  return 1;
}

// One read of the control socket, with the file a 'P' carries (-1: none).
static ssize_t read_ctl(char *buf, size_t len, int *fd) { return recv_with_fd(ctl_fd, buf, len, fd); }

// Every process below the keeper, by scanning /proc (this kernel has no
// /proc/PID/task/TID/children). Returns how many it signalled.
static int kill_descendants(void) {
  enum { MAX = 1 << 16 };
  static int ppid_of[4194305];
  static int pids[MAX];
  int n = 0, killed = 0;
  DIR *d = opendir("/proc");
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < MAX) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0 || pid > 4194304) continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0) continue;
    buf[r] = 0;
    char *p = strrchr(buf, ')');
    int ppid = 0;
    if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1) continue;
    ppid_of[pid] = ppid;
    pids[n++] = (int)pid;
  }
  closedir(d);
  int self = getpid();
  for (int i = 0; i < n; i++) {
    int p = pids[i], depth = 0;
    while (p > 1 && p != self && depth++ < 4096) p = ppid_of[p];
    if (p == self && pids[i] != self) {
      kill(pids[i], SIGKILL);
      killed++;
    }
  }
  return killed;
}

static void kill_domain_and_exit(void) {
  for (int round = 0; round < 1000; round++) {
    int killed = kill_descendants();
    while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {}
    if (!killed) {
      if (waitpid(-1, NULL, __WALL) < 0 && errno == ECHILD) break;
    } else {
      usleep(1000);
    }
  }
  _exit(0);
}

// The supervisor is gone and the (identity) job runs on: go on reaping below it,
// as the subreaper, until the domain is empty.
__attribute__((noreturn)) static void orphaned(void) {
  for (;;) {
    pid_t p = waitpid(-1, NULL, __WALL);
    if (p < 0 && errno == ECHILD) _exit(0);
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "vdomain-keeper: internal helper of vdomain, not to be run by hand\n");
    return 2;
  }
  // fds 0-2 must be taken before we open anything, or a signalfd could land on
  // "stdin" and the job would share it
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return 2;
  ctl_fd = atoi(argv[1]);
  int boot_fd = atoi(argv[2]);
  signal(SIGPIPE, SIG_IGN);
  // Terminal and job-control signals reach the job through its process group;
  // the keeper must outlive them.
  int ignored[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) signal(ignored[i], SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  fcntl(ctl_fd, F_SETFD, FD_CLOEXEC);
  fcntl(boot_fd, F_SETFD, FD_CLOEXEC);

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

  const int own_ipc = !strcmp(argv[3], "own") && own_ipc_namespace();
  if (own_ipc) sysv_note_fresh_limits();
  const int restore = !strcmp(argv[4], "--restore") && (argc == 6 || argc == 7);
  if (restore && argc == 7) {
    int failed = -1, err = own_ipc ? sysv_restore(argv[6], &failed) : ENOSYS;
    if (err) {
      say("V %ld %ld\n", err, failed);
      return 1;  // what was made goes with our namespace
    }
  }
  pid_t root = restore ? fork_with_pid((pid_t)atoi(argv[5])) : fork();
  if (root < 0) {
    say("F %ld %ld\n", errno, 0);
    return 1;
  }
  if (root == 0) {
    close(ctl_fd);
    if (restore) restore_child(boot_fd);
    become_root(boot_fd, argv + 4);
  }
  close(boot_fd);
  say("S %ld %ld\n", root, own_ipc);

  int survives = 0, altering = 0;
  struct pollfd pf[2] = {{ctl_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
  for (;;) {
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      kill_domain_and_exit();
    }
    if (pf[0].revents) {
      char buf[64];
      int file = -1;
      ssize_t n = read_ctl(buf, sizeof buf, &file);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        if (!survives || altering) kill_domain_and_exit();
        orphaned();
      }
      for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == 'K') kill_domain_and_exit();  // the supervisor ends the domain
        if (buf[i] == 'I') survives = 1;
        if (buf[i] == 'C') altering = 1;
        if (buf[i] == 'c') altering = 0;
        if (buf[i] == 'A') sysv_release();
        if (buf[i] == 'P') {
          say("P %ld %ld\n", file < 0 ? EBADF : own_ipc ? sysv_dump(file) : ENOSYS, 0);
          if (file >= 0) close(file);
          file = -1;
        }
      }
      if (file >= 0) close(file);
    }
    if (pf[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG | __WALL);
        if (p > 0) {
          say("X %ld %ld\n", p, st);
          continue;
        }
        if (p < 0 && errno == ECHILD) return 0;  // domain empty
        break;
      }
    }
  }
}
