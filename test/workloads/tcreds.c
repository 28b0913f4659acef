// A thread that runs with other credentials than its process (raw setresuid and
// setresgid: glibc would change every thread's), and other capabilities: each
// thread's must come back its own.
//
//   tcreds GO-FILE
//
// Prints "ready", waits until GO-FILE exists, prints "tcreds PASS" or what changed.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *go;

// this thread's ids and capability sets, from its own status file
static void creds(char *out, size_t len) {
  char line[256];
  FILE *f = fopen("/proc/thread-self/status", "r");
  out[0] = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "Uid", 3) || !strncmp(line, "Gid", 3) || !strncmp(line, "Groups", 6) || !strncmp(line, "Cap", 3)) {
      line[strcspn(line, "\n")] = ' ';
      strncat(out, line, len - strlen(out) - 1);
    }
  if (f) fclose(f);
}

static void wait_for_go(void) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  for (int i = 0; i < 60 * 50 && access(go, F_OK) != 0; i++) nanosleep(&ts, NULL);
}

static char thread_before[1024], thread_after[1024];
static volatile int thread_ready;

static void *other(void *arg) {
  (void)arg;
  // this thread alone: saved uid stays 0 (it could go back), fsuid follows euid
  if (syscall(SYS_setresgid, 1000, 1001, 0) < 0 || syscall(SYS_setresuid, 2000, 2001, 0) < 0) perror("setres*id");
  creds(thread_before, sizeof thread_before);
  thread_ready = 1;
  wait_for_go();
  creds(thread_after, sizeof thread_after);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  go = argv[1];
  pthread_t t;
  pthread_create(&t, NULL, other, NULL);
  while (!thread_ready) usleep(1000);
  char before[1024], after[1024];
  creds(before, sizeof before);
  printf("ready main: %s thread: %s\n", before, thread_before);
  fflush(stdout);
  wait_for_go();
  pthread_join(t, NULL);
  creds(after, sizeof after);
  int same = !strcmp(before, after) && !strcmp(thread_before, thread_after) && strcmp(before, thread_before);
  if (!same) printf("main   %s\n    -> %s\nthread %s\n    -> %s\ntcreds CHANGED\n", before, after, thread_before, thread_after);
  else printf("tcreds PASS\n");
  return 0;
}
