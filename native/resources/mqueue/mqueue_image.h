/* A POSIX message queue of the domain's IPC namespace in sysv.img (an object of
 * kind VD_SYSV_MQUEUE, resources/sysv/sysv_image.h): after its vd_sysv_object
 * (mode, uid, gid; count = messages) come a vd_mqueue_head, the name (name_len
 * bytes, without the leading '/' and without a NUL), then each message in the
 * order a receive takes them: a vd_mqueue_msg and its bytes. Written and read
 * by the keeper (keeper_mqueue.c), summarised by the dumper (dump_sysv.cc). */
#ifndef VDOMAIN_MQUEUE_IMAGE_H
#define VDOMAIN_MQUEUE_IMAGE_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VD_MQUEUE_NAME_MAX 255

struct vd_mqueue_head {
  int64_t maxmsg, msgsize;  /* mq_attr */
  uint32_t notified;        /* a process is registered for notification (mq_notify): refused */
  uint32_t name_len;
};

struct vd_mqueue_msg {
  uint32_t prio, len;
};

/* Whether a process is registered for the notification (mq_notify) of the queue
 * open at fd: its file reads "QSIZE:… NOTIFY_PID:N" and reading takes no
 * message. 1 or 0; -1 when it cannot be read (a write-only fd). */
static inline int vd_mqueue_notified(int fd) {
  char text[160];
  const ssize_t n = pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return -1;
  text[n] = 0;
  const char *at = strstr(text, "NOTIFY_PID:");
  return at ? atoi(at + 11) != 0 : -1;
}

#endif
