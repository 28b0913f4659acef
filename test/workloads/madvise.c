// Each madvise advice on its own region (filled with a pattern), and regions
// made MAP_NORESERVE and sealed (mseal); after restore each region's VmFlags and
// contents must be the same.  madvise
#include <sys/mman.h>
#include <sys/syscall.h>
#include "memcheck.h"
#define NORESERVE (-1)  // not advice: mmap MAP_NORESERVE
#define SEAL (-2)       // not advice: mseal

#define LEN (8 * 4096UL)

int main(void) {
  const struct { int advice; const char* flag; } advice[] = {
    {MADV_DONTFORK, "dc"}, {MADV_DONTDUMP, "dd"}, {MADV_WIPEONFORK, "wf"},
    {MADV_HUGEPAGE, "hg"}, {MADV_NOHUGEPAGE, "nh"}, {MADV_SEQUENTIAL, "sr"}, {MADV_RANDOM, "rr"},
    {MADV_MERGEABLE, "mg"}, {NORESERVE, "nr"}, {SEAL, "sl"},
  };
  enum { N = sizeof advice / sizeof advice[0] };
  char* region[N];
  char before[N][256];
  for (int i = 0; i < N; i++) {
    int a = advice[i].advice;
    region[i] = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (a == NORESERVE ? MAP_NORESERVE : 0), -1, 0);
    memset(region[i], 'a' + i, LEN);
    if (region[i] == MAP_FAILED || (a >= 0 && madvise(region[i], LEN, a) < 0) ||
        (a == SEAL && syscall(462 /* mseal */, region[i], LEN, 0) < 0)) {
      perror(advice[i].flag);
      return 1;
    }
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
