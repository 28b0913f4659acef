// The domain's POSIX message queues, dumped and made again by the keeper, beside
// its System V objects (resources/sysv/keeper_sysv.c calls these): mqueues live
// in the IPC namespace too, and the keeper is in the domain's.
//
// Listing them: the kernel shows a namespace's queues only as the files of its
// mqueue filesystem. A child of the keeper, in a mount namespace of its own (the
// keeper's user namespace, or root, may make one), gets that filesystem as a
// detached mount (fsopen/fsmount: nothing is mounted anywhere) and sends the
// names back through a pipe; the keeper's own namespaces stay as they are.
// Reading one: its attributes by mq_getattr, owner and mode by fstat, a
// registered notification by reading the queue's file ("NOTIFY_PID:"), then
// every message received (non-blocking, in the order a receive takes them:
// priority, then arrival) and sent back at once in that order with its
// priority, which leaves the queue as it was. While the job is frozen nobody
// else receives or sends (a blocked call was interrupted by the freeze and
// restarts). A queue with a notification registered is not touched: a send to
// it while empty would fire the notification; it is recorded so, and refused.
// Format: mqueue_image.h. Restore: mqueue_make, before the job's root is forked.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keeper/keeper_io.h"
#include "resources/mqueue/keeper_mqueue.h"
#include "resources/mqueue/mqueue_image.h"
#include "resources/sysv/sysv_image.h"

#define VD_FSCONFIG_CMD_CREATE 6

// In a child: the names of the namespace's queues, one per line, to `out`.
static int list_in_child(int out) {
  if (unshare(CLONE_NEWNS) < 0) return errno;
  int fs = (int)syscall(SYS_fsopen, "mqueue", 1 /* FSOPEN_CLOEXEC */);
  if (fs < 0) return errno;
  if (syscall(SYS_fsconfig, fs, VD_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) return errno;
  int mnt = (int)syscall(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, 0);
  if (mnt < 0) return errno;
  DIR *d = fdopendir(openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) return errno;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' && (write_full(out, e->d_name, strlen(e->d_name)) < 0 || write_full(out, "\n", 1) < 0)) return EIO;
  return 0;
}

// The names (malloc'd, "\n"-separated, NUL-ended) of the namespace's queues.
static int list_queues(char **names) {
  *names = NULL;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno;
  pid_t child = fork();
  if (child < 0) {
    int e = errno;
    close(p[0]), close(p[1]);
    return e;
  }
  if (child == 0) {
    close(p[0]);
    _exit(list_in_child(p[1]));
  }
  close(p[1]);
  size_t cap = 4096, used = 0;
  char *buf = malloc(cap);
  ssize_t n = 0;
  while (buf && (n = read(p[0], buf + used, cap - used - 1)) > 0)
    if ((used += (size_t)n) + 1 == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (!grown) free(buf);
      buf = grown;
    }
  close(p[0]);
  int st = 0;
  while (waitpid(child, &st, __WALL) < 0 && errno == EINTR) {}
  if (!buf) return ENOMEM;
  if (!WIFEXITED(st) || WEXITSTATUS(st)) {
    free(buf);
    // (an errno from the child's exit status: it failed to list them)
    return WIFEXITED(st) ? WEXITSTATUS(st) : EIO;
  }
  buf[used] = 0;
  *names = buf;
  return 0;
}

static int dump_queue(int out, const char *name) {
  char path[VD_MQUEUE_NAME_MAX + 2];
  snprintf(path, sizeof path, "/%s", name);
  mqd_t q = mq_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (q < 0) return errno == ENOENT ? 0 : -1;  // (gone meanwhile: a process outside the domain? none can)
  struct mq_attr a;
  struct stat st;
  const int note = vd_mqueue_notified(q);
  if (mq_getattr(q, &a) < 0 || fstat(q, &st) < 0 || note < 0) {
    int e = errno ? errno : EIO;
    mq_close(q);
    return errno = e, -1;
  }
  struct vd_mqueue_head head = {.maxmsg = a.mq_maxmsg, .msgsize = a.mq_msgsize, .notified = (uint32_t)note,
                                .name_len = (uint32_t)strlen(name)};
  size_t cap = sizeof head + head.name_len + 64, used = 0;
  char *data = malloc(cap), *one = malloc((size_t)a.mq_msgsize + 1);
  uint64_t count = 0;
  int rc = -1;
  if (!data || !one) goto done;
  memcpy(data, &head, sizeof head);
  memcpy(data + sizeof head, name, head.name_len);
  used = sizeof head + head.name_len;
  // every message taken out, in order, then all put back in that order
  for (long i = 0; !note && i < a.mq_curmsgs; i++) {
    unsigned prio;
    ssize_t n = mq_receive(q, one, (size_t)a.mq_msgsize, &prio);
    if (n < 0) break;
    struct vd_mqueue_msg m = {.prio = prio, .len = (uint32_t)n};
    while (used + sizeof m + (size_t)n > cap) {
      char *grown = realloc(data, cap *= 2);
      if (!grown) goto done;  // (those taken are still in `data`: put back below)
      data = grown;
    }
    memcpy(data + used, &m, sizeof m);
    memcpy(data + used + sizeof m, one, (size_t)n);
    used += sizeof m + (size_t)n;
    count++;
  }
  rc = 0;
done:;
  int e = errno;
  // the messages back, whatever happened above
  for (size_t at = sizeof head + head.name_len, k = 0; data && k < count; k++) {
    struct vd_mqueue_msg m;
    memcpy(&m, data + at, sizeof m);
    if (mq_send(q, data + at + sizeof m, m.len, m.prio) < 0) rc = -1, e = errno;
    at += sizeof m + m.len;
  }
  if (rc == 0 && count != (uint64_t)(note ? 0 : a.mq_curmsgs)) rc = -1, e = EAGAIN;
  if (rc == 0) {
    struct vd_sysv_object o = {.kind = VD_SYSV_MQUEUE, .mode = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid,
                               .count = count, .data_len = used};
    if (write_full(out, &o, sizeof o) < 0 || write_full(out, data, used) < 0) rc = -1, e = errno;
  }
  free(data);
  free(one);
  mq_close(q);
  errno = e ? e : ENOMEM;
  return rc;
}

int mqueue_dump(int out, uint32_t *count) {
  char *names;
  int e = list_queues(&names);
  if (e) return errno = e, -1;
  int rc = 0;
  for (char *name = names, *end; rc == 0 && *name; name = end + 1) {
    end = strchr(name, '\n');
    if (!end) break;
    *end = 0;
    if (strlen(name) > VD_MQUEUE_NAME_MAX) continue;
    errno = 0;
    rc = dump_queue(out, name);
    if (rc == 0) (*count)++;
  }
  free(names);
  return rc;
}

// ---- restore ------------------------------------------------------------------------

int mqueue_make(const struct vd_sysv_object *o, int in) {
  struct vd_mqueue_head head;
  if (o->data_len < sizeof head || read_full(in, &head, sizeof head) < 0) return errno = EINVAL, -1;
  char path[VD_MQUEUE_NAME_MAX + 2];
  if (head.notified || head.name_len < 1 || head.name_len > VD_MQUEUE_NAME_MAX || head.maxmsg < 1 || head.msgsize < 1 ||
      head.msgsize > (1 << 24) || read_full(in, path + 1, head.name_len) < 0)
    return errno = EINVAL, -1;
  path[0] = '/';
  path[head.name_len + 1] = 0;
  if (memchr(path + 1, '/', head.name_len) || memchr(path + 1, 0, head.name_len)) return errno = EINVAL, -1;
  struct mq_attr a = {.mq_maxmsg = head.maxmsg, .mq_msgsize = head.msgsize};
  mqd_t q = mq_open(path, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC, o->mode & 0777, &a);
  if (q < 0) return -1;
  char *one = malloc((size_t)head.msgsize);
  uint64_t left = o->data_len - sizeof head - head.name_len;
  int rc = one ? 0 : -1;
  for (uint64_t i = 0; rc == 0 && i < o->count; i++) {
    struct vd_mqueue_msg m;
    if (left < sizeof m || read_full(in, &m, sizeof m) < 0 || m.len > head.msgsize || left - sizeof m < m.len ||
        read_full(in, one, m.len) < 0)
      rc = -1, errno = EINVAL;
    else if (mq_send(q, one, m.len, m.prio) < 0)
      rc = -1;
    left -= sizeof m + m.len;
  }
  if (rc == 0 && left) rc = -1, errno = EINVAL;
  // owner and mode as they were (the keeper's umask took bits from the mode)
  if (rc == 0 && fchown(q, o->uid, o->gid) < 0) rc = -1;
  if (rc == 0 && fchmod(q, o->mode & 07777) < 0) rc = -1;
  int e = errno;
  free(one);
  mq_close(q);
  errno = e;
  return rc;
}
