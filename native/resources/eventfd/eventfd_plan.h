/* An eventfd's record in the restorer's plan (vd_fd.data_off): written by
 * plan_eventfd.cc, read by restore_eventfd.c. Plain C, shared by both. */
#ifndef VDOMAIN_EVENTFD_PLAN_H
#define VDOMAIN_EVENTFD_PLAN_H
#include <stdint.h>

/* eventfd(2): the counter never reaches 2^64 - 1 */
#define VD_EVENTFD_MAX 0xfffffffffffffffeULL

struct vd_eventfd {
  uint64_t count;      /* the counter, as a read would take it */
  uint32_t semaphore;  /* EFD_SEMAPHORE: a read takes 1 */
  uint32_t pad;
};

#endif
