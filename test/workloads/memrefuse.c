// Memory state a restore cannot bring back, refused at checkpoint: a protection
// key (pkey) on a region, or a MAP_GROWSDOWN mapping besides the stack. Runs on
// after the refused checkpoint and prints PASS if its memory is untouched.
//   memrefuse pkey|growsdown
#include <sys/mman.h>
#include <sys/syscall.h>
#include "memcheck.h"

#define LEN (4 * 4096UL)

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  char* m;
  if (!strcmp(argv[1], "pkey")) {
    m = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long key = syscall(SYS_pkey_alloc, 0, 0);
    if (key < 0 || syscall(SYS_pkey_mprotect, m, LEN, PROT_READ | PROT_WRITE, key) < 0) { perror("pkey"); return 1; }
  } else {
    m = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
  }
  if (m == MAP_FAILED) { perror("mmap"); return 1; }
  memset(m, 'm', LEN);
  char before[256], after[256];
  vmflags_of(m, before, sizeof before);
  wait_for_checkpoint();
  vmflags_of(m, after, sizeof after);
  if (strcmp(before, after)) changed("VmFlags [%s] -> [%s]", before, after);
  for (size_t k = 0; k < LEN; k++)
    if (m[k] != 'm') { changed("byte %zu is %d", k, m[k]); break; }
  return report();
}
