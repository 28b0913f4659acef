// pidfd, the keeper's child's part (keeper_pidfd.c).
#pragma once
#include <stdint.h>

#include "restorer/plan.h"

// Every pidfd of plan p: the PID of now of the process of the tree it names
// (procs[k].vpid is now real[k]).
void pidfd_targets(struct vd_plan *p, const struct vd_tree_proc *procs, const int32_t *real, uint32_t nr);
