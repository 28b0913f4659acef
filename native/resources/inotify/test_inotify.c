// inotify's state across a checkpoint and restore: an instance (non-blocking)
// watching its working directory, two files in it (one IN_ONESHOT, at a
// descriptor after a gap: a watch removed before) and a subdirectory with
// IN_EXCL_UNLINK, which no fd holds (found through the watched directory); a
// second instance a thread is blocked reading, woken after the restore by a file
// made in the subdirectory. Checked: fdinfo's watches (descriptor, inode, mask)
// as they were, and the events each change brings. A restored copy beside its
// original shares their files: the one that checks second (a marker file says)
// finds the first's events queued and the one-shot watch gone, and checks the rest.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "inotify PASS" or what changed. "perturb" removes a watch before checking;
// "shared" holds an instance twice (dup); "queued" leaves an event unread.
// refused "queued": bytes of events not yet read
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_KIND "inotify"
#include "../files/fd_state_check.h"

static int blocking;
static char woke_name[64];

static void* reader(void* arg) {
  (void)arg;
  char buf[4096] __attribute__((aligned(8)));
  ssize_t n;
  while ((n = read(blocking, buf, sizeof buf)) < 0 && errno == EINTR) {}
  if (n >= (ssize_t)sizeof(struct inotify_event)) {
    struct inotify_event* e = (struct inotify_event*)buf;
    if (e->len) snprintf(woke_name, sizeof woke_name, "%s", e->name);
  }
  return 0;
}

// fdinfo's watch lines, without the handle (the same file either way); but
// the one-shot one (wd 4) where another process may have fired it
static int second;
static void watches(int fd, char* out, size_t n) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  FILE* f = fopen(path, "r");
  out[0] = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "inotify ", 8) && !(second && !strncmp(line, "inotify wd:4 ", 13))) {
      char* cut = strstr(line, " fhandle-bytes");
      if (cut) *cut = 0;
      strncat(out, line, n - strlen(out) - 2);
      strcat(out, ";");
    }
  if (f) fclose(f);
}

// whether events on fd hold one for wd with a bit of mask (and that name)
static int saw(int fd, int wd, unsigned mask, const char* name) {
  char buf[8192] __attribute__((aligned(8)));
  int found = 0;
  for (int tries = 0; tries < 50 && !found; tries++) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
      usleep(10000);
      continue;
    }
    for (char* at = buf; at < buf + n;) {
      struct inotify_event* e = (struct inotify_event*)at;
      if (e->wd == wd && (e->mask & mask) && (!name || (e->len && !strcmp(e->name, name)))) found = 1;
      at += sizeof *e + e->len;
    }
  }
  return found;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  char dir[] = "/tmp/vd-inotify-XXXXXX";
  if (!mkdtemp(dir) || chdir(dir) < 0) return perror("mkdtemp"), 1;
  close(open("file", O_CREAT | O_WRONLY, 0644));
  close(open("gone", O_CREAT | O_WRONLY, 0644));
  close(open("once", O_CREAT | O_WRONLY, 0644));
  mkdir("sub", 0755);
  char here[4096 + 16];
  if (!getcwd(here, sizeof here - 16)) return 1;
  char sub[sizeof here + 8];
  snprintf(sub, sizeof sub, "%s/sub", here);

  int a = inotify_init1(IN_NONBLOCK);
  int w1 = inotify_add_watch(a, "file", IN_MODIFY | IN_CLOSE_WRITE);
  int w2 = inotify_add_watch(a, ".", IN_CREATE | IN_DELETE | IN_ONLYDIR);
  int w3 = inotify_add_watch(a, "gone", IN_OPEN);
  inotify_rm_watch(a, w3);  // a gap: the next is 4
  int w4 = inotify_add_watch(a, "once", IN_ATTRIB | IN_ONESHOT);
  int w5 = inotify_add_watch(a, sub, IN_CREATE | IN_EXCL_UNLINK);
  if (w1 != 1 || w2 != 2 || w4 != 4 || w5 != 5) return printf("wds %d %d %d %d\n", w1, w2, w4, w5), 1;
  char drain[4096];
  while (read(a, drain, sizeof drain) > 0) {}  // (the IN_IGNORED of the gap)
  blocking = inotify_init1(IN_CLOEXEC);
  inotify_add_watch(blocking, "sub", IN_CREATE);
  if (!strcmp(mode, "shared") && dup(a) < 0) return 1;
  pthread_t t;
  pthread_create(&t, 0, reader, 0);
  usleep(100000);  // the thread is in its read
  char before[2048];
  watches(a, before, sizeof before);
  if (!strcmp(mode, "queued")) {
    int f = open("file", O_WRONLY);
    if (write(f, "x", 1) != 1) return 1;
    close(f);
  }
  if (!readyThenGo()) return 1;

  second = access("checked", F_OK) == 0;
  if (second) watches(a, before, sizeof before);  // (as the first had them before, without wd 4)
  if (!strcmp(mode, "perturb")) inotify_rm_watch(a, w1);
  if (!strcmp(mode, "queued")) saw(a, 1, IN_MODIFY, NULL);  // (the event left before)
  char after[2048];
  watches(a, after, sizeof after);
  CHECK(!strcmp(before, after), "its watches were\n  %s\nand are\n  %s", before, after);
  CHECK(fcntl(a, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
  CHECK(fcntl(blocking, F_GETFD) & FD_CLOEXEC, "close-on-exec lost");
  char buf[64];
  CHECK(second || (read(a, buf, sizeof buf) < 0 && errno == EAGAIN), "an event that was not there");
  close(open("checked", O_CREAT | O_WRONLY, 0644));
  // a name of our own: a copy restored beside its original watches the same files
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char mine[64];
  snprintf(mine, sizeof mine, "n%ld", now.tv_nsec);
  int f = open("file", O_WRONLY);
  CHECK(f >= 0 && write(f, "y", 1) == 1, "cannot write its file");
  close(f);
  CHECK(saw(a, 1, IN_MODIFY, NULL), "no IN_MODIFY from the watched file");
  close(open(mine, O_CREAT | O_WRONLY, 0644));
  CHECK(saw(a, 2, IN_CREATE, mine), "no IN_CREATE of %s from the watched directory", mine);
  chmod("once", 0600);
  CHECK(second || saw(a, 4, IN_IGNORED, NULL), "the one-shot watch did not fire and go");
  char made[sizeof sub + 80];
  snprintf(made, sizeof made, "%s/%s", sub, mine);
  close(open(made, O_CREAT | O_WRONLY, 0644));
  CHECK(saw(a, 5, IN_CREATE, mine), "no IN_CREATE of %s from the subdirectory", mine);
  pthread_join(t, 0);
  CHECK(woke_name[0], "the blocked reader got no event");
  unlink(made);
  unlink(mine);
  if (fails) return 1;
  printf("inotify PASS\n");
  return 0;
}
