// The files the tree shares, made by the keeper's child (keeper_files.c).
#ifndef VDOMAIN_KEEPER_FILES_H
#define VDOMAIN_KEEPER_FILES_H
#include <stdint.h>

#include "restorer/plan.h"

struct shared_files {
  uint32_t nr;
  struct vd_shared_file *files;
  char **paths, **data;
  struct vd_extent **extents;  // DELETED: its data extents
  int *fds;                    // once made: the description, or -1
  int *pty_slave;              // PTY master entries: the keeper's own slave of the pair, or -1
};

// Why a step failed: what the keeper's child reports (VD_STEP_*, errno).
struct keeper_failure {
  int step, err;
};

// The table (s->nr entries, as the tree said) from the boot socket: 0, or -1 and why.
int read_shared_files(int boot_fd, struct shared_files *s, struct keeper_failure *why);
// Every one of them opened, made again or made as a pipe with its bytes; pages_fds
// (per process of the tree) hold deleted files' contents: 0, or -1 and why.
int make_shared_files(struct shared_files *s, const int *pages_fds, uint32_t nr_procs, struct keeper_failure *why);

#endif
