// A process tree whose result is known: a root and its children, each computing
// a hash chain, with the shape a restore must bring back checked at the end.
//
//   tree STEPS DIR
//
//   root ─┬─ A   leads its own process group
//         │   └─ A1   in A's group (inherited)
//         ├─ B   joins A's group (setpgid to a sibling's group, as a shell's pipeline)
//         ├─ S   leads its own session (setsid)
//         ├─ Z   exits at once with status 42: a zombie until the root reaps it
//         └─ (O1) forks O and exits: O, a daemon in a session of its own, is
//                 an orphan (vdomain's keeper, the domain's subreaper, adopts it)
//
// Every process checks, once its chain is done, that its PID and parent are what
// they were at the start and that its group and session relate to the others' as
// they did (their numbers, where they are the restoring shell's, may change). The root then signals A's group with
// kill(-pgid) (A, A1 and B must each get it), reaps every child with waitpid(pid)
// (the PID fork returned, the right status) and prints one line, the same for an
// uninterrupted run and for one checkpointed and restored at any moment:
//   tree root=H A=… A1=… B=… S=… Z=42 reaped=ok
// Children report through files DIR/<name> (written at the end).
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long steps;
static const char* dir;
static volatile sig_atomic_t signals;

static void on_usr1(int sig) {
  (void)sig;
  signals++;
}

static pid_t kids[5];
static volatile sig_atomic_t strange_sigchld;

static void on_chld(int sig, siginfo_t* si, void* ctx) {
  (void)sig, (void)ctx;
  int known = 0;
  for (int i = 0; i < 5; i++) known |= si->si_pid == kids[i];
  if (!known) strange_sigchld++;
}

static uint64_t chain(uint64_t seed) {
  uint64_t h = seed;
  for (long i = 0; i < steps; i++) {
    h ^= (uint64_t)i + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    if (i % 16 == 0) {
      struct timespec t = {0, 1000 * 1000};
      nanosleep(&t, NULL);
    }
  }
  return h;
}

static pid_t root;

// What a process knows of itself at the start, checked again at the end.
struct self {
  pid_t pid, ppid, pgid, sid;
};

static struct self now(void) { return (struct self){getpid(), getppid(), getpgid(0), getsid(0)}; }

static int orphan;  // our parent is outside the job (the keeper): not ours to compare

static const char* same(struct self a, struct self b) {
  if (a.pid != b.pid) return "pid-changed";
  if (a.ppid != b.ppid && !orphan) return "ppid-changed";
  // the group and session it had: the same number, or still the root's
  if (a.pgid != b.pgid && b.pgid != getpgid(root)) return "pgid-changed";
  if (a.sid != b.sid && b.sid != getsid(root)) return "sid-changed";
  return "same";
}

// A child's life: its chain, optionally waiting for the group's signal, then its
// report: hash, identity check, group/session relation, signals.
static void child(const char* name, uint64_t seed, int wait_signal, const char* relation) {
  struct self start = now();
  uint64_t h = chain(seed);
  if (wait_signal) {
    sigset_t none;
    sigemptyset(&none);
    while (!signals) sigsuspend(&none);  // SIGUSR1 is blocked outside this wait
  }
  while (wait(NULL) > 0) {}  // A reaps A1: no orphan
  char path[4096], tmp[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s/.%s", dir, name);
  FILE* f = fopen(tmp, "w");
  if (!f) _exit(3);
  fprintf(f, "%s=%016llx:%s:%s:sig%d", name, (unsigned long long)h, same(start, now()), relation, (int)signals);
  fclose(f);
  rename(tmp, path);  // whole or not there: the root polls for the orphan's
  _exit(0);
}

static void report(const char* name, char* out, size_t len) {
  char path[4096], buf[256] = "";
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "r");
  if (f) {
    if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
    fclose(f);
  }
  snprintf(out + strlen(out), len - strlen(out), " %s", buf[0] ? buf : "missing");
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: tree STEPS DIR\n");
    return 2;
  }
  steps = atol(argv[1]);
  dir = argv[2];
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  root = getpid();

  pid_t a = fork();
  if (a == 0) {
    setpgid(0, 0);
    pid_t a1 = fork();
    if (a1 == 0) child("A1", 11, 1, getpgid(0) == getppid() ? "in-A" : "not-in-A");
    child("A", 10, 1, getpgid(0) == getpid() ? "leader" : "not-leader");
  }
  setpgid(a, a);  // both sides, as a shell does: no race with the fork below
  pid_t b = fork();
  if (b == 0) {
    setpgid(0, a);
    child("B", 20, 1, getpgid(0) == a ? "in-A" : "not-in-A");
  }
  pid_t s = fork();
  if (s == 0) {
    setsid();
    child("S", 30, 0, getsid(0) == getpid() ? "session-leader" : "no-session");
  }
  pid_t z = fork();
  if (z == 0) _exit(42);
  pid_t o1 = kids[4] = fork();
  if (o1 == 0) {
    if (fork() == 0) {
      setsid();
      orphan = 1;
      while (getppid() == o1) {}  // until adopted
      child("O", 40, 0, getsid(0) == getpid() ? "orphan-session-leader" : "no-session");
    }
    _exit(0);
  }
  waitpid(o1, NULL, 0);
  kids[0] = a, kids[1] = b, kids[2] = s, kids[3] = z;
  struct sigaction chld = {0};
  chld.sa_sigaction = on_chld;
  chld.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGCHLD, &chld, NULL);

  // the root's parent, group and session are those of whoever runs it: only its PID is its own
  const pid_t pid0 = getpid();
  uint64_t h = chain(1);
  kill(-a, SIGUSR1);  // the whole group A: A, A1 and B

  char line[2048];
  snprintf(line, sizeof line, "tree root=%016llx:%s", (unsigned long long)h, getpid() == pid0 ? "same" : "pid-changed");
  int ok = 1;
  int zstatus = -1;
  for (int i = 0; i < 4; i++) {
    int st;
    pid_t r;
    if (kids[i] == s) {
      siginfo_t si = {0};
      int w;
      do w = waitid(P_PID, (id_t)s, &si, WEXITED); while (w < 0 && errno == EINTR);
      r = w == 0 ? si.si_pid : -1;
      st = si.si_code == CLD_EXITED ? si.si_status << 8 : 0x7f;
    } else {
      do r = waitpid(kids[i], &st, 0); while (r < 0 && errno == EINTR);
    }
    if (r != kids[i]) ok = 0;
    else if (kids[i] == z) zstatus = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ok = 0;
  }
  report("A", line, sizeof line);
  report("A1", line, sizeof line);
  report("B", line, sizeof line);
  report("S", line, sizeof line);
  // the orphan is no child of ours: wait for its report
  char opath[4096];
  snprintf(opath, sizeof opath, "%s/O", dir);
  for (int i = 0; i < 2000 && access(opath, F_OK) < 0; i++) {
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  report("O", line, sizeof line);
  snprintf(line + strlen(line), sizeof line - strlen(line), " Z=%d reaped=%s sigchld=%s", zstatus, ok ? "ok" : "BAD",
           strange_sigchld ? "BAD" : "ok");
  printf("%s\n", line);
  return 0;
}
