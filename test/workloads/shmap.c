// A shared r--s mapping of a file opened O_RDWR, made writable with mprotect
// after restore and written through (the file sees it); a MAP_SHARED mapping of
// /dev/zero keeps its contents and the open /dev/zero still reads zeros.
//   shmap DIR
#include <fcntl.h>
#include <sys/mman.h>
#include "memcheck.h"

#define LEN (4 * 4096UL)

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/shared", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, LEN) < 0) { perror(path); return 1; }
  char* ro = mmap(0, LEN, PROT_READ, MAP_SHARED, fd, 0);
  int zero = open("/dev/zero", O_RDWR);
  char* z = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
  if (ro == MAP_FAILED || z == MAP_FAILED) { perror("mmap"); return 1; }
  memset(z, 'z', LEN);
  wait_for_checkpoint();
  if (mprotect(ro, LEN, PROT_READ | PROT_WRITE) < 0) changed("mprotect rw: %s", strerror(errno));
  else {
    memcpy(ro + 4096, "written", 8);
    char back[8] = {0};
    if (pread(fd, back, 8, 4096) != 8 || memcmp(back, "written", 8)) changed("the file does not see the write");
  }
  for (size_t k = 0; k < LEN; k++)
    if (z[k] != 'z') { changed("/dev/zero mapping: byte %zu is %d", k, z[k]); break; }
  char buf[16] = {1};
  if (read(zero, buf, sizeof buf) != sizeof buf || buf[0] || buf[15]) changed("the /dev/zero fd does not read zeros");
  return report();
}
