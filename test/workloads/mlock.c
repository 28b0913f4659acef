// mlock (lo) and mlock2 MLOCK_ONFAULT (lo lf) on regions of their own; with
// argv[1] "future", mlockall(MCL_CURRENT | MCL_FUTURE) too, and a mapping made
// after restore must come locked. VmFlags and contents the same after restore.
//   mlock [future]
#include <sys/mman.h>
#include <sys/syscall.h>
#include "memcheck.h"
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define LEN (4 * 4096UL)

int main(int argc, char** argv) {
  int future = argc > 1 && !strcmp(argv[1], "future");
  char* locked = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* onfault = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(locked, 'l', LEN);
  if (mlock(locked, LEN) < 0 || syscall(SYS_mlock2, onfault, LEN, MLOCK_ONFAULT) < 0) { perror("mlock"); return 1; }
  onfault[0] = 'f';
  if (future && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) { perror("mlockall"); return 1; }
  char b1[256], b2[256];
  vmflags_of(locked, b1, sizeof b1);
  vmflags_of(onfault, b2, sizeof b2);
  if (!has_flag(b1, "lo") || !has_flag(b2, future ? "lo" : "lf")) changed("not locked before: [%s] [%s]", b1, b2);
  wait_for_checkpoint();
  char a1[256], a2[256];
  vmflags_of(locked, a1, sizeof a1);
  vmflags_of(onfault, a2, sizeof a2);
  if (strcmp(a1, b1)) changed("mlock region: VmFlags [%s] -> [%s]", b1, a1);
  if (strcmp(a2, b2)) changed("MLOCK_ONFAULT region: VmFlags [%s] -> [%s]", b2, a2);
  if (locked[LEN - 1] != 'l' || onfault[0] != 'f') changed("contents");
  if (future) {
    char* later = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char f[256];
    vmflags_of(later, f, sizeof f);
    if (!has_flag(f, "lo")) changed("MCL_FUTURE lost: a new mapping has [%s]", f);
  }
  return report();
}
