// The keeper's part of POSIX message queues (keeper_mqueue.c): called by the
// System V side (resources/sysv/keeper_sysv.c), whose file they share.
#pragma once
#include <stdint.h>

struct vd_sysv_object;

// Appends every queue of the keeper's IPC namespace to `out`, counting them.
int mqueue_dump(int out, uint32_t *count);
// Makes the queue `o` describes again from `in` (after `o`); -1 and errno.
int mqueue_make(const struct vd_sysv_object *o, int in);
