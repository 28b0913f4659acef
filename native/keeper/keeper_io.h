// What the keeper's parts share (keeper.c, restore_child.c and the resource kinds'
// keeper parts): whole reads and writes, descriptors over a Unix socket, forks at
// a chosen PID. Depends on nothing of theirs, so they do not import each other.
#ifndef VDOMAIN_KEEPER_IO_H
#define VDOMAIN_KEEPER_IO_H
#include <stddef.h>
#include <sys/types.h>

// The whole of len through read() or write(), retrying what EINTR cut short: 0, or -1.
int read_full(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
// One byte (tag) with one descriptor (SCM_RIGHTS): 0 or -1.
int send_fd(int sock, int fd, char tag);
// Up to len bytes, and the descriptor sent with them (close-on-exec; *fd -1: none).
ssize_t recv_with_fd(int sock, char *buf, size_t len, int *fd);
// The descriptor sent with byte tag, or -1.
int recv_fd(int sock, char tag);
// fork() at exactly PID want (any PID: want 0); -1 (errno) when the kernel will
// not. sibling: the child is our parent's (CLONE_PARENT), not ours.
pid_t fork_exactly(pid_t want, int sibling);
// fork(), with the child at PID `want` when the kernel allows it.
pid_t fork_with_pid(pid_t want);

#endif
