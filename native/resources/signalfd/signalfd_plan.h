/* A signalfd's record in the restorer's plan (vd_fd.data_off): written by
 * plan_signalfd.cc, read by restore_signalfd.c. */
#ifndef VDOMAIN_SIGNALFD_PLAN_H
#define VDOMAIN_SIGNALFD_PLAN_H
#include <stdint.h>

struct vd_signalfd {
  uint64_t mask; /* the signals it takes (bit n-1: signal n) */
};

#endif
