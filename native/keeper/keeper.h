// The entry points of the keeper's parts, called by its main loop (keeper.c).
// Their shared helpers are in keeper_io.h: the parts do not import each other.
#ifndef VDOMAIN_KEEPER_H
#define VDOMAIN_KEEPER_H

// Never returns: turns this process into the image's (or exits 125). (restore_child.c)
__attribute__((noreturn)) void restore_child(int boot_fd);

// The domain's SysV IPC objects (resources/sysv/keeper_sysv.c): 0 or an errno.
int sysv_dump(int out);
void sysv_note_fresh_limits(void);  // once the namespace is made, before the job runs
int sysv_restore(const char *path, int *failed_index);
void sysv_release(void);  // restore done: let go of removed segments held attached

#endif
