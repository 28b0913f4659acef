// The keeper's shared helpers (keeper_io.h).
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "keeper_io.h"

static int whole(int fd, char *p, size_t len, int writing) {
  while (len) {
    ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int read_full(int fd, void *buf, size_t len) { return whole(fd, buf, len, 0); }
int write_full(int fd, const void *buf, size_t len) { return whole(fd, (char *)buf, len, 1); }

// A message of one iovec with room for one descriptor (SCM_RIGHTS).
union fd_room {
  struct cmsghdr h;
  char buf[CMSG_SPACE(sizeof(int))];
};
static struct msghdr fd_message(struct iovec *iov, union fd_room *room) {
  struct msghdr msg = {0};
  msg.msg_iov = iov;
  msg.msg_iovlen = 1;
  msg.msg_control = room->buf;
  msg.msg_controllen = sizeof room->buf;
  return msg;
}

int send_fd(int sock, int fd, char tag) {
  struct iovec iov = {&tag, 1};
  union fd_room room;
  struct msghdr msg = fd_message(&iov, &room);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

ssize_t recv_with_fd(int sock, char *buf, size_t len, int *fd) {
  struct iovec iov = {buf, len};
  union fd_room room;
  struct msghdr msg = fd_message(&iov, &room);
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  *fd = -1;
  if (c && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof *fd);
  return n;
}

int recv_fd(int sock, char tag) {
  char byte = 0;
  int fd;
  if (recv_with_fd(sock, &byte, 1, &fd) != 1 || byte != tag || fd < 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

pid_t fork_exactly(pid_t want, int sibling) {
  // (with CLONE_PARENT the kernel wants no exit signal: the child takes ours, SIGCHLD)
  struct clone_args args = {.flags = sibling ? CLONE_PARENT : 0, .exit_signal = sibling ? 0 : SIGCHLD};
  if (want > 0) {
    args.set_tid = (uint64_t)(uintptr_t)&want;
    args.set_tid_size = 1;
  }
  return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

pid_t fork_with_pid(pid_t want) {
  // clone3 with set_tid needs CAP_CHECKPOINT_RESTORE; without it, or when the
  // PID is taken, any PID will do: the domain then translates.
  pid_t pid = want > 0 ? fork_exactly(want, 0) : -1;
  return pid >= 0 ? pid : fork();
}
