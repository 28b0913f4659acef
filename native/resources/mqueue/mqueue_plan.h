/* A POSIX message queue fd's record in the restorer's plan (vd_fd.data_off):
 * written by plan_mqueue.cc, read by restore_mqueue.c. */
#ifndef VDOMAIN_MQUEUE_PLAN_H
#define VDOMAIN_MQUEUE_PLAN_H
#include "resources/mqueue/mqueue_image.h"

struct vd_mqueue_fd {
  char name[VD_MQUEUE_NAME_MAX + 1]; /* without its leading '/', NUL-ended */
};

#endif
