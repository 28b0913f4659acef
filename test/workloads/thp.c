// prctl(PR_SET_THP_DISABLE) and, when argv[1] is "mdwe", prctl(PR_SET_MDWE):
// both must be as they were after restore.  thp [mdwe]
#include <sys/prctl.h>
#include "memcheck.h"
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

int main(int argc, char** argv) {
  int mdwe = argc > 1 && !strcmp(argv[1], "mdwe");
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) { perror("PR_SET_THP_DISABLE"); return 1; }
  if (mdwe && prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) < 0) { perror("PR_SET_MDWE"); return 1; }
  int thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
  int md = prctl(PR_GET_MDWE, 0, 0, 0, 0);
  wait_for_checkpoint();
  int thp2 = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), md2 = prctl(PR_GET_MDWE, 0, 0, 0, 0);
  if (thp2 != thp) changed("THP disable %d -> %d", thp, thp2);
  if (md2 != md) changed("MDWE %d -> %d", md, md2);
  return report();
}
