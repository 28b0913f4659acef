/* A pidfd's record in the restorer's plan (vd_fd.data_off): written by
 * plan_pidfd.cc, its target's PID of now filled in by the keeper's child
 * (keeper_pidfd.c), read by restore_pidfd.c. */
#ifndef VDOMAIN_PIDFD_PLAN_H
#define VDOMAIN_PIDFD_PLAN_H
#include <stdint.h>

struct vd_pidfd {
  int32_t vpid; /* the process it refers to, as the job knows it (a process of the tree) */
  int32_t real; /* that process's PID after the restore: -1 until the keeper's child sets it */
};

#endif
