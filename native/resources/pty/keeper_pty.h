// A pty pair made again by the keeper's child (keeper_pty.c).
#ifndef VDOMAIN_KEEPER_PTY_H
#define VDOMAIN_KEEPER_PTY_H
#include <stdint.h>

// The pair of a master's shared entry (data: its vd_pty_image): its master (non-
// blocking; the caller sets its flags), with the bytes it had and its settings;
// *slave: a slave of ours, kept for the session's controlling terminal. -1 and errno.
int make_pty_master(const char *data, uint32_t len, int *slave);
// A slave description (flags: its access mode) of the pair of master.
int open_pty_slave(int master, uint32_t flags);
// Once every slave description is open: locked again if it was.
int finish_pty(const char *data, uint32_t len, int master);

#endif
