// Each madvise advice on its own region (filled with a pattern); after restore
// each region's VmFlags and contents must be the same.  madvise
#include <sys/mman.h>
#include "memcheck.h"

#define LEN (8 * 4096UL)

int main(void) {
  const struct { int advice; const char* flag; } advice[] = {
    {MADV_DONTFORK, "dc"}, {MADV_DONTDUMP, "dd"}, {MADV_WIPEONFORK, "wf"},
    {MADV_HUGEPAGE, "hg"}, {MADV_NOHUGEPAGE, "nh"},
  };
  enum { N = sizeof advice / sizeof advice[0] };
  char* region[N];
  char before[N][256];
  for (int i = 0; i < N; i++) {
    region[i] = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region[i] == MAP_FAILED || madvise(region[i], LEN, advice[i].advice) < 0) {
      perror("madvise");
      return 1;
    }
    memset(region[i], 'a' + i, LEN);
    vmflags_of(region[i], before[i], sizeof before[i]);
    if (!has_flag(before[i], advice[i].flag)) changed("%s not shown before: %s", advice[i].flag, before[i]);
  }
  wait_for_checkpoint();
  for (int i = 0; i < N; i++) {
    char after[256];
    vmflags_of(region[i], after, sizeof after);
    if (strcmp(before[i], after)) changed("%s region: VmFlags [%s] -> [%s]", advice[i].flag, before[i], after);
    for (size_t k = 0; k < LEN; k++)
      if (region[i][k] != 'a' + i) {
        changed("%s region: byte %zu is %d", advice[i].flag, k, region[i][k]);
        break;
      }
  }
  return report();
}
