/* The kinds of file descriptor that have a folder of their own, beside the files
 * kind's built-in ones (regular files, directories, harmless devices, pipes,
 * FIFOs, deleted files, standard streams). Each NAME here is a folder
 * native/resources/NAME/ holding:
 *   dump_NAME.cc     const FdKindDump NAME##FdKind: which fds it takes and what it
 *                    records of one (resources/files/fd_kind.h)
 *   plan_NAME.cc     void planFd_NAME(fd, builder, vd_fd&): its record in the
 *                    restorer's plan, from the manifest (checked: the image is
 *                    untrusted)
 *   restore_NAME.c   long open_fd_NAME(plan, vd_fd, index): makes it again in the
 *                    restorer blob (freestanding: raw syscalls only)
 *                    (and, for the kinds below, fill_fd_NAME)
 *   keeper_NAME.c    where the keeper's child has a part (pidfd: the PID of now
 *                    of the process it names), called from restore_child.c
 *   test_NAME.c      a program that sets the state, is checkpointed and restored,
 *                    and checks it (test/kinds.test.ts runs every one)
 * The files kind runs them in each of its sides; the manifest's fd kind is NAME.
 * C and C++ both include this. */
#ifndef VDOMAIN_RESOURCES_KINDS_H
#define VDOMAIN_RESOURCES_KINDS_H

#define VD_FD_KINDS(X) X(eventfd) X(signalfd) X(timerfd) X(epoll) X(pidfd)

/* The kinds whose fds name other fds of the process (an epoll's watches): their
 * restore_NAME.c also has void fill_fd_NAME(plan, vd_fd, index, pass), which
 * open_files calls once every fd is at its number, in passes 0 to
 * VD_FD_FILL_PASSES - 1 (a kind fills each fd in the pass it belongs to: an
 * epoll after the epolls it watches). */
#define VD_FD_KINDS_FILLED(X) X(epoll)
#define VD_FD_FILL_PASSES 5

#endif
