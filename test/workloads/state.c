// The process state a restore must bring back, beyond memory contents: sets it
// all up, runs for a while (a checkpoint lands in the middle), then reports what
// it sees. An uninterrupted run prints the reference line; a restored one must
// print the same.
//
//   state DIR ITERATIONS
//
// DIR must hold a file "data" of at least 8 KiB (opened, mapped shared) and be
// writable. Output (stdout, one line at the end):
//   state umask=.. nice=.. nofile=.. core=.. pers=.. name=.. cwd=.. fds=.. pos=..
//         shared=.. guard=.. ro=.. alarms=.. blocked=.. pending=.. cmdline=.. vectors=..
//         cpus=.. policy=.. ioprio=..   (held to the last CPU, SCHED_BATCH, idle I/O)
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

// Sleeps 10 ms in a raw syscall with a pattern in xmm8 (and the upper half of
// ymm9 where there is AVX), and checks it is still there after: a checkpoint
// that lands in the sleep must bring the extended registers back.
static int vector_registers_survive(void) {
  uint8_t in[32], out[32] = {0};
  for (int i = 0; i < 32; i++) in[i] = (uint8_t)(i * 7 + 1);
  struct timespec ts = {0, 10 * 1000 * 1000};
  long ret;
  if (__builtin_cpu_supports("avx")) {
    __asm__ volatile("vmovdqu (%[in]), %%ymm9\n\tsyscall\n\tvmovdqu %%ymm9, (%[out])"
                     : "=a"(ret)
                     : "a"((long)SYS_nanosleep), "D"(&ts), "S"(0L), [in] "r"(in), [out] "r"(out)
                     : "rcx", "r11", "memory", "xmm9");
    return !memcmp(in, out, 32);
  }
  __asm__ volatile("movdqu (%[in]), %%xmm8\n\tsyscall\n\tmovdqu %%xmm8, (%[out])"
                   : "=a"(ret)
                   : "a"((long)SYS_nanosleep), "D"(&ts), "S"(0L), [in] "r"(in), [out] "r"(out)
                   : "rcx", "r11", "memory", "xmm8");
  (void)ret;
  return !memcmp(in, out, 16);
}

struct opened { int fd; int flags; dev_t dev; ino_t ino; };

static struct opened open_one(const char *path, int flags) {
  struct opened o = {open(path, flags), 0, 0, 0};
  struct stat st;
  if (o.fd < 0 || fstat(o.fd, &st) < 0) {
    perror(path);
    exit(1);
  }
  o.flags = fcntl(o.fd, F_GETFL);
  o.dev = st.st_dev;
  o.ino = st.st_ino;
  return o;
}

static int same(const struct opened *o) {
  struct stat st;
  return fstat(o->fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino && fcntl(o->fd, F_GETFL) == o->flags;
}

// The protection /proc/self/maps shows for the mapping holding addr.
static void prot_of(void *addr, char out[5]) {
  strcpy(out, "????");
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    unsigned long s, e;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && (unsigned long)addr >= s && (unsigned long)addr < e)
      memcpy(out, perms, 5);
  }
  if (f) fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: state DIR ITERATIONS\n");
    return 2;
  }
  int iterations = atoi(argv[2]);
  // the command line as it was, to compare /proc/self/cmdline with at the end
  char cmdline[4096];
  size_t cmdlen = 0;
  for (int i = 0; i < argc; i++) {
    size_t n = strlen(argv[i]) + 1;
    memcpy(cmdline + cmdlen, argv[i], n);
    cmdlen += n;
  }

  if (chdir(argv[1]) < 0) return perror("chdir"), 1;
  umask(027);
  setpriority(PRIO_PROCESS, 0, 3);
  struct rlimit nofile = {200, 0}, core = {0, 0};
  getrlimit(RLIMIT_NOFILE, &core);
  nofile.rlim_max = core.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  getrlimit(RLIMIT_CORE, &core);
  core.rlim_cur = 0;
  setrlimit(RLIMIT_CORE, &core);
  personality(PER_LINUX | ADDR_NO_RANDOMIZE);
  prctl(PR_SET_NAME, "vd-state", 0, 0, 0);
  // scheduling an unprivileged job may choose: one CPU, a batch policy, idle I/O
  cpu_set_t one;
  CPU_ZERO(&one);
  const int last_cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
  CPU_SET(last_cpu, &one);
  struct sched_param batch = {0};
  if (sched_setaffinity(0, sizeof one, &one) < 0 || sched_setscheduler(0, SCHED_BATCH, &batch) < 0 ||
      syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 3 << 13 /* IOPRIO_CLASS_IDLE */) < 0)
    return perror("scheduling"), 1;

  struct opened fds[] = {
      open_one("/dev/null", O_WRONLY), open_one("/dev/zero", O_RDONLY), open_one("/dev/urandom", O_RDONLY),
      open_one(".", O_RDONLY | O_DIRECTORY), open_one("data", O_RDWR | O_APPEND | O_NONBLOCK),
  };
  struct opened pos = open_one("data", O_RDONLY);
  lseek(pos.fd, 1234, SEEK_SET);

  int datafd = open("data", O_RDWR);
  char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, datafd, 0);
  close(datafd);
  char *three = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED || three == MAP_FAILED) return perror("mmap"), 1;
  memset(three, 'r', 3 * 4096);
  mprotect(three + 4096, 4096, PROT_NONE);    // a guard page
  mprotect(three + 8192, 4096, PROT_READ);    // read-only data

  struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval every = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &every, NULL);
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr2, NULL);
  raise(SIGUSR2);  // stays pending: blocked

  int vectors_ok = 1;
  for (int i = 0; i < iterations; i++) {
    shared[i % 8192] = (char)('a' + i % 26);
    vectors_ok &= vector_registers_survive();
  }

  // the report
  char name[17] = {0};
  prctl(PR_GET_NAME, name, 0, 0, 0);
  char cwd[4096], here[4096];
  getcwd(cwd, sizeof cwd);
  if (!realpath(argv[1], here)) here[0] = 0;
  int fds_ok = 1;
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) fds_ok &= same(&fds[i]);
  char dev[3] = {0};
  fds_ok &= read(fds[1].fd, dev, 2) == 2 && dev[0] == 0;
  int shared_ok = 1;
  for (int i = 0; i < iterations && i < 8192; i++) shared_ok &= shared[i] == (char)('a' + i % 26);
  char guard[5], ro[5];
  prot_of(three + 4096, guard);
  prot_of(three + 8192, ro);
  int ro_ok = !strcmp(ro, "r--p") && three[8192] == 'r';
  int before = alarms;
  struct timespec wait = {0, 100 * 1000 * 1000};
  while (nanosleep(&wait, &wait) < 0) {}
  sigset_t now, pending;
  sigprocmask(SIG_BLOCK, NULL, &now);
  sigpending(&pending);
  char seen[4096];
  int cf = open("/proc/self/cmdline", O_RDONLY);
  ssize_t seenlen = read(cf, seen, sizeof seen);
  close(cf);
  cpu_set_t cpus;
  sched_getaffinity(0, sizeof cpus, &cpus);
  const int cpus_ok = CPU_COUNT(&cpus) == 1 && CPU_ISSET(last_cpu, &cpus);
  struct rlimit nl, cl;
  getrlimit(RLIMIT_NOFILE, &nl);
  getrlimit(RLIMIT_CORE, &cl);
  mode_t m = umask(0);
  printf("state umask=%03o nice=%d nofile=%lu core=%lu pers=%x name=%s cwd=%s fds=%s pos=%ld shared=%s guard=%s ro=%s "
         "alarms=%s blocked=%d pending=%d cmdline=%s vectors=%s cpus=%s policy=%d ioprio=%ld\n",
         m, getpriority(PRIO_PROCESS, 0), (unsigned long)nl.rlim_cur, (unsigned long)cl.rlim_cur,
         personality(0xffffffff), name, strcmp(cwd, here) ? "moved" : "same", fds_ok ? "ok" : "BAD",
         (long)lseek(pos.fd, 0, SEEK_CUR), shared_ok ? "ok" : "BAD", guard, ro_ok ? "ok" : "BAD",
         alarms > before ? "ticking" : "stopped", sigismember(&now, SIGUSR2), sigismember(&pending, SIGUSR2),
         seenlen == (ssize_t)cmdlen && !memcmp(seen, cmdline, cmdlen) ? "same" : "changed", vectors_ok ? "ok" : "LOST",
         cpus_ok ? "last" : "BAD", sched_getscheduler(0), syscall(SYS_ioprio_get, 1, 0));
  return 0;
}
