// pidfd, the keeper's child's part: once the tree is made it knows every
// process's PID of now, and writes the one each pidfd of a process's plan refers
// to into its record (pidfd_plan.h), for restore_pidfd.c. A vpid of no process
// of the tree stays -1: the blob fails with ESRCH.
#include "keeper/tree_parts.h"

#include "resources/pidfd/pidfd_plan.h"

void keeper_tree_pidfd(struct vd_plan *p, const struct vd_tree_proc *procs, const int32_t *real, uint32_t nr) {
  struct vd_fd *fds = (struct vd_fd *)((char *)p + p->fds_off);
  for (uint32_t i = 0; i < p->nr_fds; i++) {
    if (fds[i].kind != VD_FD_pidfd || fds[i].data_len != sizeof(struct vd_pidfd)) continue;
    struct vd_pidfd *r = (struct vd_pidfd *)((char *)p + fds[i].data_off);
    r->real = -1;
    for (uint32_t k = 0; k < nr; k++)
      if (procs[k].vpid == r->vpid) r->real = real[k];
  }
}
