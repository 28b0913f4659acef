// Deleted files held open, as a restore must bring them back: contents, size,
// holes (SEEK_DATA/SEEK_HOLE offsets and st_blocks), mode and owner.
//
//   deleted DIR [OWNER]    OWNER (root only): the files are chowned to OWNER:OWNER
//   deleted DIR refuse-dir | refuse-dev    holds a deleted directory / device node
//                                          (mknod: root) and must be refused;
//                                          "survived" after a line on stdin
//
// Files: "small" (0645, "abc" at 0 and "xyz" at 1 MiB, held twice by a dup: one
// description), "big" (0604, 1 GiB with 4 MiB of data in three extents), "gone"
// (its name is a directory now), "orphan" (in sub/, whose name is a file now).
// Prints "ready", waits for a line on stdin (the checkpoint --kill lands there),
// then "deleted PASS" or "deleted CHANGED" with what changed.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MiB (1L << 20)

struct shape {
  struct stat st;
  int nr;
  off_t edges[16];  // data, hole, data, hole, ... from 0
  uint64_t sum;     // of the data, by position
};

static struct shape shape_of(int fd) {
  struct shape s = {0};
  const off_t pos = lseek(fd, 0, SEEK_CUR);  // (SEEK_DATA moves it)
  fstat(fd, &s.st);
  for (off_t at = 0; s.nr < 15 && at < s.st.st_size;) {
    off_t d = lseek(fd, at, SEEK_DATA);
    if (d < 0) break;
    off_t h = lseek(fd, d, SEEK_HOLE);
    s.edges[s.nr++] = d;
    s.edges[s.nr++] = h;
    static char buf[1 << 16];
    for (off_t p = d; p < h;) {
      ssize_t n = pread(fd, buf, h - p < (off_t)sizeof buf ? (size_t)(h - p) : sizeof buf, p);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; i++) s.sum = s.sum * 1000003 + (uint64_t)(p + i) * 31 + (unsigned char)buf[i];
      p += n;
    }
    at = h;
  }
  lseek(fd, pos, SEEK_SET);
  return s;
}

static int create(const char *name, mode_t mode, int owner) {
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    perror(name);
    exit(1);
  }
  if (owner >= 0 && fchown(fd, owner, owner) < 0) perror("fchown");
  fchmod(fd, mode);
  return fd;
}

static void at(int fd, off_t off, const char *what, size_t len) {
  if (pwrite(fd, what, len, off) != (ssize_t)len) {
    perror("pwrite");
    exit(1);
  }
}

static char out[4096];
static void compare(const char *name, int fd, const struct shape *was) {
  struct shape now = shape_of(fd);
  const char *what = now.st.st_size != was->st.st_size                   ? "size"
                     : (now.st.st_mode & 07777) != (was->st.st_mode & 07777) ? "mode"
                     : now.st.st_uid != was->st.st_uid || now.st.st_gid != was->st.st_gid ? "owner"
                     : now.st.st_nlink != 0                                 ? "linked"
                     : now.nr != was->nr || memcmp(now.edges, was->edges, sizeof now.edges) ? "holes"
                     : now.st.st_blocks != was->st.st_blocks                ? "st_blocks"
                     : now.sum != was->sum                                  ? "contents"
                                                                            : NULL;
  if (what)
    snprintf(out + strlen(out), sizeof out - strlen(out), " %s: %s (mode %o uid %d size %lld blocks %lld, were %o %d %lld %lld);",
             name, what, now.st.st_mode & 07777, now.st.st_uid, (long long)now.st.st_size, (long long)now.st.st_blocks,
             was->st.st_mode & 07777, was->st.st_uid, (long long)was->st.st_size, (long long)was->st.st_blocks);
}

int main(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1]) < 0) return 2;
  const char *mode = argc > 2 ? argv[2] : "";
  if (!strcmp(mode, "refuse-dir") || !strcmp(mode, "refuse-dev")) {
    int fd;
    if (!strcmp(mode, "refuse-dir")) {
      mkdir("adir", 0755);
      fd = open("adir", O_RDONLY | O_DIRECTORY);
      rmdir("adir");
    } else {
      if (mknod("null2", S_IFCHR | 0666, makedev(1, 3)) < 0) return perror("mknod"), 1;
      fd = open("null2", O_RDWR);
      unlink("null2");
    }
    if (fd < 0) return perror(mode), 1;
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 3;  // after the (refused) checkpoint
    printf("survived\n");
    return 0;
  }
  const int owner = *mode ? atoi(mode) : -1;

  int small = create("small", 0645, owner);
  at(small, 0, "abc", 3);
  at(small, MiB, "xyz", 3);
  int small2 = dup(small);
  lseek(small, 2, SEEK_SET);
  int big = create("big", 0604, owner);
  if (ftruncate(big, 1024 * MiB) < 0) return perror("ftruncate"), 1;
  static char chunk[MiB];
  memset(chunk, 'b', sizeof chunk);
  at(big, 0, chunk, MiB);
  at(big, 300 * MiB, chunk, MiB);
  at(big, 700 * MiB, chunk, MiB);
  at(big, 701 * MiB, chunk, MiB);
  int gone = create("gone", 0640, owner);
  at(gone, 0, "gone", 4);
  mkdir("sub", 0755);
  int orphan = create("sub/orphan", 0600, owner);
  at(orphan, 0, "orphan", 6);
  unlink("small");
  unlink("big");
  unlink("gone");
  mkdir("gone", 0755);  // the name is a directory now
  unlink("sub/orphan");
  rmdir("sub");
  close(create("sub", 0644, -1));  // and the old directory's name a file

  struct shape s_small = shape_of(small), s_big = shape_of(big), s_gone = shape_of(gone), s_orphan = shape_of(orphan);
  printf("ready\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 3;  // the checkpoint lands here

  compare("small", small, &s_small);
  compare("big", big, &s_big);
  compare("gone", gone, &s_gone);
  compare("orphan", orphan, &s_orphan);
  if (lseek(small, 0, SEEK_CUR) != 2 || lseek(small2, 0, SEEK_CUR) != 2) strcat(out, " small: position;");
  printf("deleted %s%s\n", *out ? "CHANGED" : "PASS", out);
  return 0;
}
