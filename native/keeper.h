// Shared by the keeper's two halves: keeper.c (the subreaper) and
// keeper_restore.c (its child when it restores an image).
#ifndef VDOMAIN_KEEPER_H
#define VDOMAIN_KEEPER_H
#include <stddef.h>
#include <sys/types.h>

int read_full(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
// fork(), with the child at PID `want` when the kernel allows it.
pid_t fork_with_pid(pid_t want);
// Never returns: turns this process into the image's (or exits 125).
__attribute__((noreturn)) void restore_child(int boot_fd);

// The domain's SysV IPC objects (keeper_sysv.c): 0 or an errno.
int sysv_dump(int out);
int sysv_restore(const char *path, int *failed_index);
void sysv_release(void);  // restore done: let go of removed segments held attached

#endif
