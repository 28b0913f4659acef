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
 *   keeper_NAME.c    where the keeper's child has a part once the tree is
 *                    made (VD_KEEPER_TREE_PARTS below)
 *   test_NAME.c      a program that sets the state, is checkpointed and restored,
 *                    and checks it (test/kinds.test.ts runs every one)
 * The files kind runs them in each of its sides; the manifest's fd kind is NAME.
 * C and C++ both include this. */
#ifndef VDOMAIN_RESOURCES_KINDS_H
#define VDOMAIN_RESOURCES_KINDS_H

#define VD_FD_KINDS(X) X(eventfd) X(signalfd) X(timerfd) X(epoll) X(pidfd) X(mqueue) X(inotify)

/* The kinds whose fds are always made by the keeper's child, as shared files
 * inherited by the tree (keeper_files.c): what one fd holds is made together
 * with what others hold (a pty's master and its slaves). Their folder holds
 * dump_NAME.cc (as above: the manifest's fd kind is NAME, which the image turns
 * into shared entries) and keeper_NAME.c; no plan or blob part. */
#define VD_FD_KINDS_BY_KEEPER(X) X(pty)

/* The kinds whose fds name other fds of the process (an epoll's watches): their
 * restore_NAME.c also has void fill_fd_NAME(plan, vd_fd, index, pass), which
 * open_files calls once every fd is at its number, in passes 0 to
 * VD_FD_FILL_PASSES - 1 (a kind fills each fd in the pass it belongs to: an
 * epoll after the epolls it watches). */
#define VD_FD_KINDS_FILLED(X) X(epoll)
#define VD_FD_FILL_PASSES 5

/* The kinds of a process's own state (not fds) that have a folder of their own.
 * Each row is X(NAME, what the restore was doing when it failed); the folder
 * native/resources/NAME/ holds:
 *   dump_NAME.cc     const DumpKind NAME##Kind (core/dump.h), listed in the dump
 *                    order of kDumpKinds (kinds.cc); writes its state as
 *                    p.kinds.key("NAME") (the process's "kinds"."NAME" in the
 *                    manifest)
 *   plan_NAME.cc     void planKind_NAME(state, proc, builder, vd_kind_part&):
 *                    that state checked (the image is untrusted; proc is the
 *                    process's whole entry, e.g. its threads) and its records
 *                    added to the plan (the part's nr and off)
 *   restore_NAME.c   void restore_NAME(plan, const vd_kind_part*): makes it again
 *                    in the blob once the process's threads exist (a timer may
 *                    signal one: vd_thread.tid), so after the domain's filter:
 *                    raw calls only, none the supervisor answers (getpid…);
 *                    fails with VD_KIND_STEP(NAME)
 *   test_NAME.c      as for the fd kinds
 * An image holding the state of a kind this build does not list is refused. */
#define VD_PROCESS_KINDS(X) \
  X(posix_timers, "making a POSIX timer again (timer_create with its id: PR_TIMER_CREATE_RESTORE_IDS)")

#define VD_KIND_INDEX(name, text) VD_KIND_##name,
enum vd_process_kind { VD_PROCESS_KINDS(VD_KIND_INDEX) VD_NR_PROCESS_KINDS };
#undef VD_KIND_INDEX

/* The kinds whose keeper_NAME.c has a part run by the keeper's child once the
 * whole tree is made (every process's PID of now known), on its copy of the
 * plan before it becomes the image: void keeper_tree_NAME(plan, procs, real, nr)
 * (pidfd: writes the PID of now of the process each pidfd names). */
#define VD_KEEPER_TREE_PARTS(X) X(pidfd)

#endif
