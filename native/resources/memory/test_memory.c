// Shared anonymous memory across a checkpoint and restore, between a parent and
// the child it forked: a MAP_SHARED|MAP_ANONYMOUS region whose pages were written
// before the fork, by the child only, or written and then dropped from every
// page table (MADV_DONTNEED: the object keeps them, no pagemap shows them), one
// never touched, and a part made read-only in the parent (two mappings at two
// offsets of one object); a MAP_SHARED mapping of /dev/zero; one object mapped
// twice in one process (mremap with old size 0). Deleted files mapped: one
// mapped shared and unlinked with no fd left (as sem_open makes a POSIX
// semaphore), one unlinked with its fd kept (as Python's multiprocessing heap),
// one mapped private with a page changed (its fd kept). memfds: one mapped
// shared with its fd kept and sealed against shrinking and growing, one only
// mapped, one only held, sealed against writing. Checked: every page's contents,
// each mapping's maps line (address, protection, offset, name), and that a
// write by either process is seen by the other after the restore.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "memory PASS" or what changed; "perturb": the child changes a page itself
// first (the check must then fail).
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATE_KIND "memory"
#include "../files/fd_state_check.h"

#define PG 4096

static char *a, *b, *c1, *c2, *sem, *arena, *priv;
static int arenaFd, privFd, memFd, sealedFd;
static char *memMap, *memOnly;

// this process's maps lines of our mappings (without device and inode: a
// restore makes new objects)
static void ourMaps(char* out, size_t n) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  out[0] = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi, off;
    char perms[8], name[256] = "";
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %255[^\n]", &lo, &hi, perms, &off, name) < 4) continue;
    char* at = (char*)lo;
    if (!((at >= a && at < a + 6 * PG) || at == b || at == c1 || at == c2 || at == sem || at == arena || at == priv || at == memMap ||
          at == memOnly))
      continue;
    snprintf(out + strlen(out), n - strlen(out), "%lx-%lx %s %lx %s; ", lo, hi, perms, off, name);
  }
  if (f) fclose(f);
}

static void sync_read(int fd) {
  char x;
  if (read(fd, &x, 1) != 1) exit(3);
}
static void sync_write(int fd) {
  if (write(fd, "x", 1) != 1) exit(3);
}

static int zeros(const char* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

// the pages as they were set up, seen from either process
static void checkPages(const char* who) {
  CHECK(!strcmp(a, "before the fork"), "%s: page 0 is '%.20s'", who, a);
  CHECK(!strcmp(a + PG, "dropped from the page tables"), "%s: page 1 is '%.30s'", who, a + PG);
  CHECK(!strcmp(a + 2 * PG, "by the child, dropped too"), "%s: page 2 is '%.30s'", who, a + 2 * PG);
  CHECK(zeros(a + 3 * PG, PG), "%s: page 3 is not zero", who);
  CHECK(!strcmp(a + 4 * PG, "read-only in the parent"), "%s: page 4 is '%.30s'", who, a + 4 * PG);
  CHECK(!strcmp(b, "of /dev/zero"), "%s: the /dev/zero page is '%.20s'", who, b);
  CHECK(!strcmp(c2 + PG, "one object, two mappings"), "%s: the second mapping reads '%.30s'", who, c2 + PG);
  CHECK(!strcmp(sem, "a semaphore"), "%s: the deleted file of no fd reads '%.20s'", who, sem);
  CHECK(!strcmp(arena + PG, "the arena"), "%s: the arena reads '%.20s'", who, arena + PG);
  char buf[32] = "";
  CHECK(pread(arenaFd, buf, sizeof buf, PG) == sizeof buf && !strcmp(buf, "the arena"), "%s: the arena's fd reads '%.20s'", who, buf);
  struct stat st;
  CHECK(fstat(arenaFd, &st) == 0 && st.st_size == 3 * PG && (st.st_mode & 0777) == 0640 && st.st_nlink == 0,
        "%s: the arena's file is size %ld mode %o links %ld", who, (long)st.st_size, st.st_mode & 0777, (long)st.st_nlink);
  // the memfds
  char link[128] = "";
  snprintf(buf, sizeof buf, "/proc/self/fd/%d", memFd);
  CHECK(readlink(buf, link, sizeof link - 1) > 0 && !strcmp(link, "/memfd:vd-mapped (deleted)"), "%s: the memfd is '%s'", who, link);
  CHECK(fcntl(memFd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "%s: the memfd's seals are %x", who, fcntl(memFd, F_GET_SEALS));
  CHECK(fstat(memFd, &st) == 0 && st.st_size == 2 * PG, "%s: the memfd's size is %ld", who, (long)st.st_size);
  CHECK(!strcmp(memMap + PG, "in a memfd"), "%s: the memfd's mapping reads '%.20s'", who, memMap + PG);
  CHECK(pread(memFd, buf, sizeof buf, PG) == sizeof buf && !strcmp(buf, "in a memfd"), "%s: the memfd reads '%.20s'", who, buf);
  CHECK(!strcmp(memOnly, "a memfd no fd holds"), "%s: the mapped-only memfd reads '%.20s'", who, memOnly);
  CHECK(pread(sealedFd, buf, sizeof buf, 0) == sizeof buf && !strcmp(buf, "sealed"), "%s: the sealed memfd reads '%.20s'", who, buf);
  CHECK(fcntl(sealedFd, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_SEAL), "%s: the sealed memfd's seals are %x", who,
        fcntl(sealedFd, F_GET_SEALS));
  CHECK(pwrite(sealedFd, "x", 1, 0) < 0 && errno == EPERM, "%s: the sealed memfd takes a write", who);
}

int main(int argc, char** argv) {
  const int perturb = argc > 1 && !strcmp(argv[1], "perturb");
  a = mmap(0, 6 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int zero = open("/dev/zero", O_RDWR);
  b = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
  close(zero);
  c1 = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED || b == MAP_FAILED || c1 == MAP_FAILED) return perror("mmap"), 1;
  c2 = mremap(c1, 0, 2 * PG, MREMAP_MAYMOVE);
  if (c2 == MAP_FAILED) return perror("mremap"), 1;
  strcpy(a, "before the fork");
  strcpy(a + PG, "dropped from the page tables");
  madvise(a + PG, PG, MADV_DONTNEED);
  strcpy(a + 4 * PG, "read-only in the parent");
  strcpy(b, "of /dev/zero");
  strcpy(c1 + PG, "one object, two mappings");
  // deleted files mapped
  char path[64];
  snprintf(path, sizeof path, "/dev/shm/vd-test-sem-%d", getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || write(fd, "a semaphore", 12) != 12) return perror("sem file"), 1;
  sem = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  unlink(path);
  snprintf(path, sizeof path, "/dev/shm/vd-test-arena-%d", getpid());
  arenaFd = open(path, O_RDWR | O_CREAT | O_EXCL, 0640);
  fchmod(arenaFd, 0640);
  unlink(path);
  if (arenaFd < 0 || ftruncate(arenaFd, 3 * PG) < 0) return perror("arena"), 1;
  arena = mmap(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, arenaFd, 0);
  strcpy(arena + PG, "the arena");
  snprintf(path, sizeof path, "/tmp/vd-test-private-%d", getpid());
  privFd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  char pg[PG] = "the file's page 0";
  if (privFd < 0 || write(privFd, pg, PG) != PG) return perror("private file"), 1;
  strcpy(pg, "the file's page 1");
  if (write(privFd, pg, PG) != PG) return 1;
  priv = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, privFd, 0);
  strcpy(priv, "changed privately");
  unlink(path);
  // memfds
  memFd = memfd_create("vd-mapped", MFD_ALLOW_SEALING);
  if (memFd < 0 || ftruncate(memFd, 2 * PG) < 0) return perror("memfd"), 1;
  memMap = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, memFd, 0);
  strcpy(memMap + PG, "in a memfd");
  if (fcntl(memFd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) return perror("seal"), 1;
  int only = memfd_create("vd-only-mapped", 0);
  if (only < 0 || ftruncate(only, PG) < 0) return perror("memfd"), 1;
  memOnly = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, only, 0);
  close(only);
  strcpy(memOnly, "a memfd no fd holds");
  sealedFd = memfd_create("vd-sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  char sealed[32] = "sealed";
  if (sealedFd < 0 || write(sealedFd, sealed, sizeof sealed) != sizeof sealed ||
      fcntl(sealedFd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    return perror("sealed memfd"), 1;
  if (sem == MAP_FAILED || arena == MAP_FAILED || priv == MAP_FAILED || memMap == MAP_FAILED || memOnly == MAP_FAILED)
    return perror("mmap"), 1;
  int up[2], down[2];
  if (pipe(up) || pipe(down)) return perror("pipe"), 1;
  pid_t child = fork();
  if (child == 0) {
    strcpy(a + 2 * PG, "by the child, dropped too");
    madvise(a + 2 * PG, PG, MADV_DONTNEED);
    char before[2048], now[2048];
    ourMaps(before, sizeof before);
    sync_write(up[1]);  // ready
    sync_read(down[0]);  // go
    if (perturb) strcpy(a + PG, "changed by the child");
    checkPages("child");
    ourMaps(now, sizeof now);
    CHECK(!strcmp(now, before), "child: its mappings are '%s', were '%s'", now, before);
    // a write of the child's, for the parent to see
    strcpy(a + 3 * PG, "the child's, after");
    strcpy(sem + 64, "posted by the child");
    strcpy(arena + 2 * PG, "the child's arena");
    strcpy(memMap + 64, "the child's memfd");
    strcpy(memOnly + 64, "the child's too");
    sync_write(up[1]);
    sync_read(down[0]);  // the parent's write
    CHECK(!strcmp(b + PG, "the parent's, after"), "child: the parent's write is not seen: '%.20s'", b + PG);
    return fails ? 1 : 0;
  }
  sync_read(up[0]);
  mprotect(a + 4 * PG, 2 * PG, PROT_READ);
  char before[2048], now[2048];
  ourMaps(before, sizeof before);
  if (!readyThenGo()) return 1;

  checkPages("parent");
  ourMaps(now, sizeof now);
  CHECK(!strcmp(now, before), "parent: its mappings are '%s', were '%s'", now, before);
  sync_write(down[1]);
  sync_read(up[0]);  // the child checked and wrote
  CHECK(!strcmp(a + 3 * PG, "the child's, after"), "parent: the child's write is not seen: '%.20s'", a + 3 * PG);
  CHECK(!strcmp(sem + 64, "posted by the child"), "parent: the child's write to the deleted file is not seen");
  char buf[32] = "";
  CHECK(pread(arenaFd, buf, sizeof buf, 2 * PG) == sizeof buf && !strcmp(buf, "the child's arena"),
        "parent: the child's arena write is not in the file: '%.20s'", buf);
  CHECK(pread(memFd, buf, sizeof buf, 64) == sizeof buf && !strcmp(buf, "the child's memfd"), "parent: the child's memfd write: '%.20s'", buf);
  CHECK(!strcmp(memOnly + 64, "the child's too"), "parent: the child's write to the mapped-only memfd is not seen");
  // the private mapping: its changed page, the file's other page, the file under it
  CHECK(!strcmp(priv, "changed privately"), "parent: the private page reads '%.20s'", priv);
  CHECK(!strcmp(priv + PG, "the file's page 1"), "parent: the file's page 1 reads '%.20s'", priv + PG);
  CHECK(pread(privFd, buf, sizeof buf, 0) == sizeof buf && !strcmp(buf, "the file's page 0"), "parent: the file reads '%.20s'", buf);
  madvise(priv, PG, MADV_DONTNEED);
  CHECK(!strcmp(priv, "the file's page 0"), "parent: under the private page: '%.20s'", priv);
  strcpy(c2, "through the second");
  CHECK(!strcmp(c1, "through the second"), "parent: the two mappings of one object are two objects");
  strcpy(b + PG, "the parent's, after");
  sync_write(down[1]);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's checks failed (status %x)", status);
  if (!fails) printf("memory PASS\n");
  return fails ? 1 : 0;
}
