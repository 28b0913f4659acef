// The restore plan: everything the restorer blob needs to turn the process it runs
// in into one process of an image. One flat, position-independent buffer (offsets,
// never pointers) built by the supervisor from the image's manifest
// (native/core/plan_builder.cc), handed to the keeper's child over the boot socket, copied
// next to the blob and executed by it (native/restorer/restorer.c and the kinds' restore_*.c).
//
// What the blob cannot do itself, because only a tracer can, is done by the
// supervisor once the blob stops with int3 (native/core/restore.cc): general and
// extended registers, fs/gs base, signal mask, removal of the blob.
//
// Plain C, shared by C (keeper, blob) and C++ (addon). x86-64 only.
#ifndef VDOMAIN_PLAN_H
#define VDOMAIN_PLAN_H
#include <stdint.h>
#include "resources/kinds.h"

#define VD_PLAN_MAGIC 0x314e414c50445600ULL  // "\0VDPLAN1"
#define VD_PLAN_VERSION 12

// A mapping of the image, restored at its old address.
enum vd_vma_kind {
  VD_VMA_ANON = 0,     // private anonymous (heap, stack, mmap), pages from the page file
  VD_VMA_FILE_PRIVATE, // MAP_PRIVATE of a file; changed (copied-on-write) pages from the page file
  VD_VMA_FILE_SHARED,  // MAP_SHARED of a file: the file holds the data, no pages
  VD_VMA_SHARED_ANON,  // MAP_SHARED|MAP_ANONYMOUS or of /dev/zero: a mapping of its object's
                       // carrier (vd_carrier), pages from the page file
  VD_VMA_SYSV_SHM,     // a SysV segment attached (shmat); the keeper made it again, with its contents
};

struct vd_vma {
  uint64_t start, end;
  uint32_t kind;       // enum vd_vma_kind
  uint32_t prot;       // PROT_* as at checkpoint
  uint32_t growsdown;  // VM_GROWSDOWN (the main stack): map with MAP_GROWSDOWN
  uint32_t path_off;   // file VMAs: offset of a NUL-terminated path in the string area
  uint32_t open_flags; // file VMAs: O_RDONLY or O_RDWR (shared writable mappings)
  int32_t shmid;       // sysv-shm VMAs: the segment
  uint64_t pgoff;      // file VMAs: offset in the file, bytes; sysv-shm: in the segment
  uint32_t first_run;  // its page runs: runs[first_run .. first_run + nr_runs)
  uint32_t nr_runs;
  uint32_t advice;     // VD_ADVISE_* bits (its VmFlags), madvised once its pages are in
  uint32_t lock;       // VD_MLOCK_*: mlock2 once the rlimits are set
  uint32_t noreserve;  // MAP_NORESERVE (VmFlags nr: no swap space accounted)
  uint32_t sealed;     // mseal (VmFlags sl), last of all
  uint32_t shared_file; // file VMAs of a deleted file: 1 + the index of the tree's shared file
                        // (vd_shared_file) that is it, made again; 0: the file at path_off
  uint64_t object;     // shared-anon: its object's old shmem inode, the same in every mapping of it
                       // (pgoff: where in it the mapping starts); 0 in older images: a fresh object
};

// A shared anonymous object (MAP_SHARED|MAP_ANONYMOUS, /dev/zero) of the tree:
// the keeper child maps one /dev/zero MAP_SHARED of `size` bytes before the tree
// forks, so every process inherits it; a process's blob makes each of its
// mappings of the object from it (mremap with old size 0: the same pages) and
// then unmaps it.
struct vd_carrier {
  uint64_t object;  // vd_vma.object
  uint64_t addr, size;
};

// madvise advice a VMA keeps (VmFlags dc dd wf hg nh sr rr mg)
#define VD_ADVISE_DONTFORK (1u << 0)
#define VD_ADVISE_DONTDUMP (1u << 1)
#define VD_ADVISE_WIPEONFORK (1u << 2)
#define VD_ADVISE_HUGEPAGE (1u << 3)
#define VD_ADVISE_NOHUGEPAGE (1u << 4)
#define VD_ADVISE_SEQUENTIAL (1u << 5)  // sr
#define VD_ADVISE_RANDOM (1u << 6)      // rr
#define VD_ADVISE_MERGEABLE (1u << 7)   // mg (KSM)
// memory locking (VmFlags lo, lf); also vd_plan.mlock_future
#define VD_MLOCK_NONE 0
#define VD_MLOCK_LOCKED 1   // mlock
#define VD_MLOCK_ONFAULT 2  // mlock2 MLOCK_ONFAULT

// len bytes at file offset off of the page file go to addr (inside one VMA).
struct vd_run {
  uint64_t addr, len, off;
};

// A kernel-provided mapping ([vdso], [vvar], [vvar_vclock]): the blob moves the
// current kernel's one (cur_start, filled by the keeper child from /proc/self/maps)
// to where the image had it (old_start). Same length or the restore is refused.
struct vd_special {
  uint64_t old_start, cur_start, len;
  uint64_t kind;  // 0 [vdso], 1 [vvar], 2 [vvar_vclock]
};

// An address range the keeper child had mapped: the blob unmaps it first.
struct vd_range {
  uint64_t start, end;
};

enum vd_fd_kind {
  VD_FD_PATH = 0,  // open(path, flags) then seek to pos: regular files, dirs, devices
  VD_FD_STDIO,     // the restoring command's own fd stdio_index: 0-2, or one the job
                   // inherited from `vdomain run` (the keeper child moves it to
                   // stdio_base + stdio_index, see become_image)
  VD_FD_COPY,      // a deleted file: a new file is made at path (unique, in the same
                   // directory, or the nearest one that still exists), its data
                   // extents filled from content_off of the page file, sized,
                   // given its mode and owner, opened with flags, seeked to pos
  VD_FD_SHARED,    // made before the tree forked (a description several fds hold,
                   // a pipe end): shared_base + stdio_index, as it is
  // the kinds of the kinds table (native/resources/kinds.h), VD_FD_NAME each: made
  // by open_fd_NAME from its record at data_off (data_len bytes)
  VD_FD_TABLE = 15,
#define VD_FD_KIND_ENUM(name) VD_FD_##name,
  VD_FD_KINDS(VD_FD_KIND_ENUM)
#undef VD_FD_KIND_ENUM
  VD_FD_TABLE_END
};

// The status flags fcntl(F_SETFL) can set (x86-64 values): O_APPEND, O_NONBLOCK,
// O_DIRECT, O_NOATIME. They are set again after every open, for open() alone does
// not take all of them back (a pipe has none to open with). The others
// (O_SYNC, O_DSYNC, O_PATH, the access mode) can only be given to open().
#define VD_SETFL_FLAGS (02000u | 04000u | 040000u | 01000000u)
#define VD_O_PATH 010000000u

struct vd_fd {
  int32_t fd;          // the number the job had
  uint32_t kind;       // enum vd_fd_kind
  uint32_t flags;      // open flags (O_ACCMODE | O_APPEND | O_NONBLOCK | ...), without O_CREAT/O_TRUNC
  uint32_t cloexec;    // FD_CLOEXEC
  uint32_t path_off;   // PATH, COPY: NUL-terminated path in the string area
  uint32_t stdio_index;// STDIO: 0, 1 or 2 of the restoring process; SHARED: index in the tree's list
  uint64_t pos;        // file position
  uint64_t content_off, content_len;  // COPY: the saved contents in the page file
  // COPY: the file's data extents (struct vd_extent[], their bytes one after the
  // other from content_off), its size (holes stay holes) and, when attrs_set, its
  // permission bits and owner
  uint32_t nr_extents, extents_off;
  uint64_t file_size;
  uint32_t attrs_set, mode;
  int32_t uid, gid;
  uint32_t data_off, data_len;  // a table kind's own record (8-aligned in the plan)
  // COPY: a memfd (path "/memfd:NAME": memfd_create(NAME) makes it), sealed with
  // `seals` (F_ADD_SEALS) once made
  uint32_t memfd, seals;
};

// len bytes at file_off of a deleted file, stored one extent after the other.
#define VD_MAX_EXTENTS (1u << 20)
// The highest fd number a job may have inherited from `vdomain run` (VD_FD_STDIO).
#define VD_MAX_EXTERNAL_FD (1u << 20)
struct vd_extent {
  uint64_t file_off, len;
};

// The kernel's struct sigaction for rt_sigaction (not glibc's).
struct vd_sigaction {
  uint64_t handler, flags, restorer, mask;
};

// What a thread sets for itself (restorer.c set_thread_state): the main
// thread's own (vd_plan.main_thread) and each other thread's. The others are made
// by the blob (clone3, with their old TID as set_tid when the restore is an
// identity one); the supervisor loads a thread's registers, FPU state and signal
// mask when it stops on its int3 (rax = its index in vd_plan's threads).
struct vd_thread {
  int32_t vtid;                      // its TID as the job knows it (the real one again in an identity restore)
  int32_t tid;                       // the blob's: its real TID once made (start_threads)
  uint64_t rseq_addr;                // 0: none
  uint32_t rseq_len, rseq_sig;
  uint64_t robust_head, robust_len;  // 0: none
  uint64_t clear_child_tid;          // set_tid_address
  uint64_t altstack_sp, altstack_size;
  int32_t altstack_flags;            // SS_DISABLE when none
  uint32_t nr_pending, pending_off;  // its own pending signals (siginfo_t, 128 bytes each)
  char comm[16];                     // its name (PR_SET_NAME)
  // scheduling, set as far as the restoring user may (see dumpScheduling)
  int32_t sched_policy, sched_priority;  // sched_policy -1: leave it
  int32_t ioprio;                    // 0: none was set
  uint32_t cpus_len;                 // bytes of cpus; 0: every CPU (leave it)
  uint64_t cpus[16];                 // CPU affinity mask (up to 1024 CPUs)
  // its attributes (native/resources/signals/dump_signals.cc dumpThreadAttrs); has_attrs 0: leave them
  uint32_t has_attrs;
  int32_t pdeathsig;                 // PR_SET_PDEATHSIG (set after the credentials, which clear it)
  uint64_t timerslack;               // PR_SET_TIMERSLACK, ns
  uint32_t securebits;               // PR_SET_SECUREBITS (SECBIT_KEEP_CAPS is PR_SET_KEEPCAPS)
  int32_t mce_kill;                  // PR_MCE_KILL_GET's answer: PR_MCE_KILL_DEFAULT/EARLY/LATE
  int32_t spec_ssb, spec_ib;         // PR_GET_SPECULATION_CTRL of store bypass, indirect branch
  int32_t io_flusher;                // PR_SET_IO_FLUSHER
  // its credentials (/proc/PID/task/TID/status), set last; has_creds 0: keep the restoring process's
  uint32_t has_creds;                // VD_CREDS_* bits
  uint32_t uid[4], gid[4];           // real, effective, saved, filesystem
  uint32_t nr_groups, groups_off;    // supplementary groups (uint32_t[])
  uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
};

// A thread's own pending SIGTRAP is queued by the supervisor at its int3, not by
// the blob: the int3's own SIGTRAP would merge with it (restore.cc requeueTraps).
#define VD_SIGTRAP 5

#define VD_CREDS_IDS 1u     // uids, gids, capabilities
#define VD_CREDS_GROUPS 2u  // and the supplementary groups (not in an unprivileged restore's user namespace)

struct vd_itimer {
  int64_t interval_sec, interval_usec, value_sec, value_usec;
};

// struct prctl_mm_map (linux/prctl.h), for prctl(PR_SET_MM, PR_SET_MM_MAP).
struct vd_mm_map {
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
  uint64_t arg_start, arg_end, env_start, env_end;
  uint64_t auxv;       // filled by the blob: address of auxv[] below
  uint32_t auxv_size;  // bytes
  uint32_t exe_fd;     // filled by the blob (-1: keep)
};

#define VD_AUXV_WORDS 128
// The blob's region ends with its stacks: the blob's own (top 64 KiB), its
// page-reading helper's (the next 64 KiB), then one per restored thread.
#define VD_BLOB_STACK (128 * 1024)
#define VD_MAX_THREADS 4096
#define VD_THREAD_STACK (16 * 1024)
#define VD_NSIG 64

// One process kind's part of the plan (resources/kinds.h VD_PROCESS_KINDS): its
// records, laid out as its plan_NAME.cc added them (nr 0: the process has none).
struct vd_kind_part {
  uint32_t nr, off;
};

struct vd_plan {
  uint64_t magic;
  uint32_t version;
  uint32_t size;        // bytes of the whole buffer, header included

  // filled by the keeper child before it jumps into the blob
  int32_t pages_fd;     // the image's page file, open for reading
  int32_t boot_fd;      // the boot socket: failures are reported on it
  int32_t stdio_base;   // fds >= this are free for the blob's own use
  int32_t proc_index;   // which process of the tree (struct vd_failure.proc)
  int32_t shared_base;  // the tree's shared files (VD_FD_SHARED) are open from here on
  uint32_t nr_shared;
  uint64_t blob_start, blob_end;  // where the blob, this plan and the blob's stack live
  uint32_t nr_unmap, unmap_off;   // struct vd_range[]: the keeper child's mappings
  uint32_t nr_carriers, carriers_off;  // struct vd_carrier[]: the tree's shared anonymous objects

  // image VMAs in address order, and their page runs
  uint32_t nr_vmas, vmas_off;
  uint32_t nr_runs, runs_off;
  uint32_t nr_special, special_off;
  // file descriptors, in any order
  uint32_t nr_fds, fds_off;
  // NUL-terminated strings, referred to by *_off fields
  uint32_t strings_off, strings_len;

  // process state
  struct vd_mm_map mm;
  uint64_t auxv[VD_AUXV_WORDS];
  uint32_t exe_path_off;   // 0: leave /proc/self/exe alone (needs CAP_SYS_RESOURCE to change)
  uint32_t cwd_off;        // path to chdir to
  uint32_t umask;
  int32_t nice;
  uint32_t personality;
  uint32_t has_rlimits;
  uint64_t rlimits[16][2];  // RLIMIT_* cur, max (RLIM_INFINITY = ~0)
  uint64_t sigaction_set;   // bit (sig-1): sigactions[sig-1] is to be installed
  struct vd_sigaction sigactions[VD_NSIG];
  struct vd_itimer itimers[3];  // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
  // signals pending for the whole process, queued to it again (siginfo_t, 128 bytes each)
  uint32_t nr_pending_shared, pending_shared_off;
  // the main thread's own state (its comm is the process's name); vtid unused
  struct vd_thread main_thread;
  // the process kinds' parts (resources/kinds.h), indexed by enum vd_process_kind
  struct vd_kind_part kinds[VD_NR_PROCESS_KINDS];

  // the other threads (struct vd_thread[]); each gets THREAD_STACK bytes of the blob's region
  uint32_t nr_threads, threads_off;
  // filled by the keeper child: 1 when every thread must get its old TID (identity restore)
  uint32_t identity;
  int32_t tgid;            // the blob's: the process's real PID (threads cannot ask once the filter is in)
  int32_t threads_ready;   // the blob's: threads done with their own state (futex word)
  uint32_t pad2;
  // SEM_UNDO adjustments (struct vd_sem_undo[]), made by the keeper child before the blob
  uint32_t nr_sem_undo, sem_undo_off;

  // the domain's seccomp filter (remapped restores); len 0: none
  uint32_t filter_len, filter_off;  // bytes of struct sock_filter[]
  uint32_t filter_flags;            // SECCOMP_FILTER_FLAG_*
  uint32_t no_new_privs;            // PR_SET_NO_NEW_PRIVS: the job had it, or the filter needs it

  // memory policy (restorer.c set_memory_policy, after the rlimits)
  uint32_t thp_disable;   // PR_GET_THP_DISABLE's answer: bit 0 disabled, the rest its flags << 1
  uint32_t mdwe;          // PR_GET_MDWE's answer (PR_MDWE_* bits)
  uint32_t mlock_future;  // VD_MLOCK_*: mlockall(MCL_FUTURE [| MCL_ONFAULT])
  uint32_t pad3;
  // process attributes (native/resources/task/dump_task.cc, dump_signals.cc); has_attrs 0: leave them
  uint32_t has_attrs;
  int32_t subreaper;                // PR_SET_CHILD_SUBREAPER
  int32_t dumpable;                 // PR_SET_DUMPABLE 0 or 1, set after every thread's credentials
  int32_t oom_score_adj;            // /proc/self/oom_score_adj
  uint32_t membarrier;              // MEMBARRIER_CMD_GET_REGISTRATIONS: the registrations to make again
  uint32_t has_loginuid;            // 1: /proc/self/loginuid must read loginuid
  uint32_t loginuid;
  uint32_t pad4;
  // file locks (struct vd_lock[]), taken by set_locks once the fds are in place
  uint32_t nr_locks, locks_off;
};

// A file lock the process held (native/resources/locks/dump_locks.cc), taken again through
// fd: a POSIX record lock (its own), or an OFD / flock lock of fd's description
// (listed in one holder's plan only).
enum vd_lock_kind { VD_LOCK_POSIX = 0, VD_LOCK_OFD, VD_LOCK_FLOCK };

struct vd_lock {
  int32_t fd;          // one of the plan's fds
  uint32_t kind;       // enum vd_lock_kind
  uint32_t write;      // 1: F_WRLCK / LOCK_EX; 0: F_RDLCK / LOCK_SH
  uint32_t path_off;   // the file (string area), for the failure message
  uint64_t start, len; // POSIX, OFD: the byte range (len 0: to the end of the file)
};

// How every filter of a domain is installed, on a first run (native/keeper/keeper.c) and
// by the blob (filter_flags): NEW_LISTENER for the supervisor; WAIT_KILLABLE_RECV
// so a notified call is not restarted by a signal once the supervisor has it;
// SPEC_ALLOW because vdomain is not a sandbox, and the speculative-store-bypass
// mitigation a filter would switch on slows all of the job's code.
#define VD_FILTER_FLAGS ((1u << 3) /* NEW_LISTENER */ | (1u << 5) /* WAIT_KILLABLE_RECV */ | \
                         (1u << 2) /* SPEC_ALLOW */)

// The blob reports a failure on boot_fd as one struct vd_failure, then exits 125.
struct vd_failure {
  char tag;        // 'R'
  char pad[3];
  int32_t step;    // enum vd_step
  int32_t err;     // errno
  int32_t index;   // which vma/fd/signal (VD_STEP_TREE: which process), or -1
  int32_t proc;    // which process of the tree (its index)
};

// ---- the tree (native/keeper/restore_child.c) --------------------------------------
// Before any plan the keeper's child reads a struct vd_tree, nr vd_tree_procs and
// nr_shared vd_shared_files (each followed by its path and data). Processes are in
// creation order: a parent comes before its children and the process whose
// group a process joins comes before it. Then, for each live process in that
// order, its plan (u32 length, bytes) and its page file (SCM_RIGHTS). It creates
// the processes one at a time, each with its session and group, reports their
// real PIDs ('T', u32 nr, nr x i32) and waits for one byte ('G') before every
// live process becomes its image.
#define VD_TREE_MAGIC 0x45455254u  // "TREE"
#define VD_MAX_PROCS 4096
#define VD_PARENT_KEEPER (-2)

struct vd_tree {
  uint32_t magic;
  uint32_t nr;         // processes (struct vd_tree_proc each)
  uint32_t nr_shared;  // files made once for the tree (struct vd_shared_file each, after the processes)
  uint32_t identity;   // 1: every process gets its old PID (clone3 set_tid), or the restore fails
};

// An open file description made before the tree forks, inherited by all: a file
// several fds hold, or a pipe end (both ends of a pipe are made together, with
// its bytes in flight written in).
enum vd_shared_kind {
  VD_SHARED_PATH = 0, VD_SHARED_PIPE, VD_SHARED_FIFO /* a pipe end of the FIFO at path */,
  VD_SHARED_DELETED /* a file deleted while open: made again, unlinked, in path's directory */,
  VD_SHARED_MQUEUE /* a POSIX message queue: path is its name, "/NAME" (resources/mqueue) */,
  VD_SHARED_PTY /* an end of a pty pair: pipe is its old number, write_end 1 the master (its data
                   a vd_pty_image, resources/pty/pty_image.h), 0 a slave (made from that master) */
};

struct vd_shared_file {
  uint32_t kind;       // enum vd_shared_kind
  uint32_t flags;      // open flags (PATH, FIFO, DELETED); PIPE: the end's status flags (O_NONBLOCK, O_DIRECT)
  uint64_t pos;        // PATH
  uint64_t pipe;       // PIPE, FIFO: the old inode (the ends of one pipe share it)
  int32_t write_end;   // PIPE, FIFO: 1 the write end, 0 the read end
  int32_t pipe_size;   // PIPE, FIFO: capacity (0: the default)
  uint32_t path_len;   // PATH, FIFO, DELETED: bytes of the path that follows (no NUL)
  uint32_t data_len;   // PIPE, FIFO: bytes in flight that follow the path
  // DELETED: its contents, content_len bytes at content_off in the page file of
  // process content_proc (an index of the tree)
  int32_t content_proc;
  uint32_t pad;
  uint64_t content_off, content_len;
  // DELETED: as vd_fd's (the extents follow the path and data)
  uint32_t nr_extents;
  uint32_t attrs_set, mode;
  int32_t uid, gid;
  uint32_t memfd, seals;  // DELETED: as vd_fd's
  uint32_t pad2;
  uint64_t file_size;
};

struct vd_tree_proc {
  int32_t vpid;        // taken back as the real PID when the restore is an identity one
  int32_t parent;      // index of the parent; -1 for the root (index 0); VD_PARENT_KEEPER:
                       // an orphan, the root makes it as its sibling (CLONE_PARENT)
  int32_t group_of;    // join the process group that process (an earlier index) is in; -1: keep the parent's
  int32_t setsid;      // 1: leads a session of its own (setsid)
  int32_t zombie;      // 1: had exited, not reaped: ends at once with wait status `status`
  int32_t status;
  int32_t ctty;        // a session leader whose controlling terminal is the pty of that
                       // master's shared entry (TIOCSCTTY after setsid); -1: none
  int32_t tty_fg;      // its group is the foreground of the pty of that master's shared entry
                       // (the first process made in the group says so); -1: none
};

// A process's SEM_UNDO adjustment of one semaphore (what its exit would add).
struct vd_sem_undo {
  int32_t semid, semnum, adj, pad;
};

enum vd_step {
  VD_STEP_PLAN = 1, VD_STEP_UNMAP, VD_STEP_SPECIAL, VD_STEP_MAP, VD_STEP_PAGES, VD_STEP_PROTECT,
  VD_STEP_FD_OPEN, VD_STEP_FD_SEEK, VD_STEP_FD_COPY, VD_STEP_CWD, VD_STEP_RLIMIT, VD_STEP_MM,
  VD_STEP_SIGACTION, VD_STEP_ALTSTACK, VD_STEP_ITIMER, VD_STEP_RSEQ, VD_STEP_ROBUST,
  VD_STEP_PENDING, VD_STEP_FILTER, VD_STEP_TREE, VD_STEP_THREAD, VD_STEP_SEM_UNDO,
  VD_STEP_LOCK,  // index: which vd_lock; EAGAIN: another process holds a conflicting lock
  VD_STEP_FIFO_CONTENTS,
  VD_STEP_ADVISE, VD_STEP_MLOCK, VD_STEP_MEMORY_POLICY,
  VD_STEP_ATTRS, VD_STEP_OOM, VD_STEP_LOGINUID, VD_STEP_MEMBARRIER, VD_STEP_CREDS,
  VD_STEP_FD_FILL,  // index: the fd (an epoll) whose watches could not be added
  VD_STEP_PTY,      // a pty pair made again (resources/pty/keeper_pty.c), or its terminal given to its session
  VD_STEP_KINDS = 64,  // + enum vd_process_kind: that kind's restore (the index is the kind's own)
};
#define VD_KIND_STEP(name) (VD_STEP_KINDS + VD_KIND_##name)

// Each thread of vd_thread[] stops on its own int3 first, rax = its index there.
// Then, with all of them set, the main thread stops with int3 and rax = the seccomp listener fd (or -1):
// the supervisor takes it with pidfd_getfd, then closes it in the process.
// rbx = blob_start, rcx = blob_end - blob_start: the supervisor unmaps the blob.
// rdx = address of a `syscall` instruction inside the blob, for that last munmap.

#endif
