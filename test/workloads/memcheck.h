// Shared by the memory-state workloads (madvise.c, shmap.c, pasteof.c, mlock.c,
// thp.c): the VmFlags of a mapping, the wait for the checkpoint, the report.
#define _GNU_SOURCE
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

// The VmFlags line of /proc/self/smaps for the mapping that holds addr ("" if none).
__attribute__((unused)) static void vmflags_of(const void* addr, char* out, size_t size) {
  FILE* f = fopen("/proc/self/smaps", "r");
  char line[512];
  int inside = 0;
  out[0] = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(out, size, "%s", line + 9);
      out[strcspn(out, "\n")] = 0;
      while (*out && out[strlen(out) - 1] == ' ') out[strlen(out) - 1] = 0;
      break;
    }
  }
  if (f) fclose(f);
}

__attribute__((unused)) static int has_flag(const char* flags, const char* flag) {
  size_t n = strlen(flag);
  for (const char* p = flags; (p = strstr(p, flag)); p += n)
    if ((p == flags || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return 1;
  return 0;
}

// "ready", then waits for the end of stdin (at most 60 s): the test checkpoints
// the job (--kill) while it waits on the pipe vdomain run gave it, and the
// restore's stdin is at its end already (as is a plain run's from the test).
static void wait_for_checkpoint(void) {
  printf("ready\n");
  fflush(stdout);
  char buf[64];
  struct pollfd in = {0, POLLIN, 0};
  while (poll(&in, 1, 60 * 1000) > 0 && read(0, buf, sizeof buf) > 0) {
  }
}

static char changes[4096];
// Records what differs (printed at the end instead of PASS).
static void changed(const char* fmt, ...) {
  size_t n = strlen(changes);
  if (n) snprintf(changes + n, sizeof changes - n, "; ");
  n = strlen(changes);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(changes + n, sizeof changes - n, fmt, ap);
  va_end(ap);
}

static int report(void) {
  printf("%s\n", changes[0] ? changes : "PASS");
  return 0;
}

static sigjmp_buf bus_jump;
static void on_bus(int sig) { (void)sig; siglongjmp(bus_jump, 1); }
// 1 if reading addr raises SIGBUS.
__attribute__((unused)) static int read_sigbuses(volatile const char* addr) {
  struct sigaction sa = {0}, old;
  sa.sa_handler = on_bus;
  sigaction(SIGBUS, &sa, &old);
  int bus = 0;
  if (sigsetjmp(bus_jump, 1)) bus = 1;
  else (void)*addr;
  sigaction(SIGBUS, &old, 0);
  return bus;
}
