// Private file mappings longer than their file: one mapped past the end of a
// 1.5-page file, one whose 4-page file was truncated to 1 page after mmap. The
// in-file part keeps its contents (copied-on-write pages too), the pages past
// EOF still SIGBUS after restore.  pasteof DIR
#include <fcntl.h>
#include <sys/mman.h>
#include "memcheck.h"

#define PG 4096UL

static char* map_file(const char* dir, const char* name, size_t size, size_t len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  char* buf = malloc(size);
  memset(buf, 'F', size);
  if (fd < 0 || write(fd, buf, size) != (ssize_t)size) { perror(path); exit(1); }
  char* m = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) { perror("mmap"); exit(1); }
  close(fd);
  free(buf);
  return m;
}

static void check(const char* what, char* m, size_t in_file, size_t len, size_t copied) {
  for (size_t k = 0; k < in_file; k++) {
    char want = k < copied ? 'C' : 'F';
    if (m[k] != want) { changed("%s: byte %zu is %d, not %c", what, k, m[k], want); break; }
  }
  size_t page_end = (in_file + PG - 1) & ~(PG - 1);
  for (size_t k = in_file; k < page_end; k++)
    if (m[k]) { changed("%s: byte %zu past EOF in the last page is %d", what, k, m[k]); break; }
  for (size_t off = page_end; off < len; off += PG)
    if (!read_sigbuses(m + off)) changed("%s: page at %zu past EOF does not SIGBUS", what, off);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char* longer = map_file(argv[1], "short", PG + PG / 2, 4 * PG);
  memset(longer, 'C', 100);  // a copied-on-write page
  char* truncated = map_file(argv[1], "truncated", 4 * PG, 4 * PG);
  memset(truncated, 'C', 100);
  (void)truncated[2 * PG];
  char path[4096];
  snprintf(path, sizeof path, "%s/truncated", argv[1]);
  if (truncate(path, PG) < 0) { perror("truncate"); return 1; }
  check("longer before", longer, PG + PG / 2, 4 * PG, 100);
  check("truncated before", truncated, PG, 4 * PG, 100);
  wait_for_checkpoint();
  check("longer", longer, PG + PG / 2, 4 * PG, 100);
  check("truncated", truncated, PG, 4 * PG, 100);
  return report();
}
