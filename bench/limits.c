/*
 * bench/limits.c — the machine's own limits, measured beside the checkpoints.
 *
 *   limits write PATH MB   sequential write of MB MiB of memory (mapped and filled
 *                          before the clock starts) to a new file PATH, fsynced,
 *                          then removed: what writing an image could at best do
 *   limits fill MB         copy MB MiB into freshly mapped anonymous memory (what
 *                          restoring memory could at best do)
 *
 * Prints one JSON line: {"what":"write|fill","mb":MB,"ms":X}
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (8u << 20)

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: limits write PATH MB | limits fill MB\n");
    return 2;
  }
  int writing = !strcmp(argv[1], "write");
  size_t mb = (size_t)atol(argv[writing ? 3 : 2]);
  size_t len = mb << 20;
  char *src = aligned_alloc(4096, CHUNK);
  for (size_t i = 0; i < CHUNK; i++) src[i] = (char)(i * 2654435761u >> 13);
  double t0, t1;
  if (writing) {
    // the data comes from memory, as a job's does, not from a cache-hot buffer
    char *data = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) return perror("mmap"), 1;
    for (size_t off = 0; off < len; off += CHUNK) memcpy(data + off, src, len - off < CHUNK ? len - off : CHUNK);
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return perror(argv[2]), 1;
    t0 = now_ms();
    for (size_t off = 0; off < len;) {
      size_t n = len - off < CHUNK ? len - off : CHUNK;
      ssize_t w = write(fd, data + off, n);
      if (w <= 0) return perror("write"), 1;
      off += (size_t)w;
    }
    fsync(fd);
    t1 = now_ms();
    close(fd);
    unlink(argv[2]);
  } else {
    t0 = now_ms();
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return perror("mmap"), 1;
    for (size_t off = 0; off < len; off += CHUNK) memcpy(m + off, src, len - off < CHUNK ? len - off : CHUNK);
    t1 = now_ms();
  }
  printf("{\"what\":\"%s\",\"mb\":%zu,\"ms\":%.3f}\n", argv[1], mb, t1 - t0);
  return 0;
}
