// The kinds' parts that the keeper's child runs once the whole tree is made
// (resources/kinds.h VD_KEEPER_TREE_PARTS), on its copy of its plan before it
// becomes the image: procs[k].vpid is now real[k]. Each in
// resources/NAME/keeper_NAME.c.
#pragma once
#include <stdint.h>

#include "restorer/plan.h"

#define VD_KEEPER_TREE_DECL(name) \
  void keeper_tree_##name(struct vd_plan *p, const struct vd_tree_proc *procs, const int32_t *real, uint32_t nr);
VD_KEEPER_TREE_PARTS(VD_KEEPER_TREE_DECL)
#undef VD_KEEPER_TREE_DECL
