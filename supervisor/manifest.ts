// The image manifest, version 4 (3 had no file locks, fd status flags beyond the
// access mode, holes of deleted files, memory advice or process attributes; 2 no
// threads; 1 no zombies either; older images are read as version-4 ones without
// them, and a vdomain that knows only version 3 refuses a version-4 image rather
// than restore it without its locks): what `vdomain checkpoint` writes next to the page
// files and what `vdomain restore` and `vdomain inspect` read. The per-process part
// is produced by the native dumper (native/core/dump.cc) and read back by the plan
// builder (native/core/plan_builder.cc): keep the three in step, and bump IMAGE_VERSION when
// a field changes meaning.
//
// Addresses are plain numbers (user addresses are below 2^47); 64-bit masks and
// limits that may not fit a double are strings (hex masks, decimal limits).

export const IMAGE_FORMAT = 'vdomain-image';
export const IMAGE_VERSION = 4;
export const READABLE_VERSIONS = [1, 2, 3, 4];
export const MANIFEST_NAME = 'manifest.json';

export interface ImageManifest {
  format: typeof IMAGE_FORMAT;
  version: number;
  createdAt: string;          // ISO time
  host: string;               // os.hostname()
  kernel: string;             // os.release()
  vdomainVersion: string;     // package.json version
  domain: {
    name: string;
    mode: 'identity' | 'remapped';
    vpidBase: number | null;
    command: string[];
    uid: number;
    /** the job's gid and groups (those of its supervisor; checkpoint refuses others); absent in older images */
    gid?: number;
    groups?: number[];
    /** 'own': the job had an IPC namespace of its own (its SysV objects are in `sysv`); 'host' (--host-ipc); absent before SysV support: 'host' */
    ipc?: 'own' | 'host';
  };
  /** the domain's root (vpid); absent in version 1 (one process) */
  root?: number;
  /** the live processes; the tree is in their vppid links (others without a parent in the job: orphans) */
  processes: ProcessImage[];
  /** children that had exited and were not reaped yet */
  zombies?: ZombieImage[];
  /** the job's terminal (one of its standard streams) as it left it: settings and foreground group */
  terminal?: { stdio: number; termios: string; foreground: number; rows?: number; cols?: number };
  /** open file descriptions held more than once, and pipes (fds of kind 'shared' point here) */
  shared?: SharedFileImage[];
  /** the domain's SysV IPC objects, their contents in sysv.img (native/resources/sysv/sysv_image.h) */
  sysv?: SysvObjectImage[];
  /** every other file of the image: name → size and CRC-32C (8 hex digits) */
  files: Record<string, { size: number; crc32c: string }>;
  /** wall times of the checkpoint, ms (informational) */
  timings?: { frozenMs: number; dumpMs: number; totalMs: number };
}

export type VmaKind = 'anon' | 'file-private' | 'file-shared' | 'shared-anon' | 'sysv-shm' | 'vdso' | 'vvar' | 'vvar_vclock';

/** native/resources/sysv/sysv_image.h: the file, and the sizes of its header and of each object's */
export const SYSV_FILE = 'sysv.img';
export const SYSV_FILE_HEADER = 16;
export const SYSV_OBJECT_HEADER = 48;

export interface SysvObjectImage {
  // mqueue: a POSIX message queue of the namespace; limits: the namespace's
  // limits (its IPC sysctls), first, when the job changed one
  kind: 'shm' | 'sem' | 'msg' | 'mqueue' | 'limits';
  key: string;                // 0x…, 0x00000000 for IPC_PRIVATE (and a segment removed while attached, and a mqueue)
  id: number;                 // made again with the same id (a mqueue: its place among them)
  name?: string;              // mqueue: "/NAME"
  mode: number;               // permission bits
  uid: number;
  gid: number;
  count: number;              // shm: bytes; sem: semaphores; msg: messages
  bytes: number;              // its data in sysv.img
  removed?: boolean;          // shm: marked for removal (IPC_RMID), still attached
}

export interface VmaImage {
  start: number;
  end: number;
  prot: string;               // "rwxp" as in /proc/PID/maps
  kind: VmaKind;
  growsdown: boolean;
  name: string;               // /proc/PID/maps name column ([heap], [stack], path, "")
  path?: string;              // file VMAs: the file mapped
  offset?: number;            // file VMAs: offset in the file; sysv-shm: in the segment; shared-anon: in its object
  shmid?: number;             // sysv-shm: the segment (an id of the image's sysv list)
  /** a mapping of a deleted file: which ("MAJOR:MINOR:INODE"); shared: the shared entry that makes it again (domains/descriptions.ts) */
  deletedFile?: string;
  shared?: number;
  /** on the first mapping of a deleted file no fd holds: its contents (as a deleted FdImage's; mode, uid, gid only when the dumper could read them) */
  fileContent?: { content: { off: number; len: number }; extents: [number, number][]; size: number; mode?: number; uid?: number; gid?: number; memfd?: boolean; seals?: number };
  /** shared-anon: its object (the old shmem inode; every mapping of one object, in any process, shares its pages); offset: where in it */
  object?: number;
  fileSize?: number;          // file VMAs: its size at checkpoint (restore checks it)
  fileMtimeNs?: string;       // file VMAs: its mtime at checkpoint, ns (restore checks it)
  /** its VmFlags (/proc/PID/smaps): the advice (dc dd wf hg nh), locks (lo lf) and may-write (mw) come back; absent: none */
  vmFlags?: string;
  /** stored pages: [address, length, offset in the process's page file] */
  runs: [number, number, number][];
}

/** The files kind's own; and the name of a kind of the kinds table (native/resources/kinds.h: eventfd…). */
export type FdKind = 'path' | 'stdio' | 'copy' | 'pipe' | 'shared' | (string & {});

export interface FdImage {
  fd: number;
  kind: FdKind;
  target: string;             // readlink of /proc/PID/fd/N at checkpoint
  flags: number;              // fdinfo flags (octal there), without O_CLOEXEC
  cloexec: boolean;
  pos: number;
  path?: string;              // path: the file to open; copy: the deleted file's old path
  /** stdio: which of the restoring command's fds it is bound to: 0-2, or N ≥ 3, a description the job inherited as fd N of `vdomain run` */
  stdio?: number;
  content?: { off: number; len: number };  // copy: its saved bytes (its extents one after the other); pipe: its bytes in flight (page file)
  /** copy: its data extents [file offset, length] (absent: one from 0 of content.len), its size, permission bits and owner (absent: 0600, the restoring user's) */
  extents?: [number, number][];
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  /** copy: a memfd (path "/memfd:NAME"), made again by memfd_create and sealed with its seals (F_GET_SEALS) */
  memfd?: boolean;
  seals?: number;
  desc?: string;              // its open file description: "VPID:FD" of the first fd found holding it
  pipe?: number;              // pipe: the pipe's inode (its two ends share it)
  fifo?: string;              // pipe: the FIFO's path, when it is one
  end?: 'r' | 'w';            // pipe: which end
  pipeSize?: number;          // pipe, where content is: its capacity
  shared?: number;            // shared: index in the manifest's shared list
  file?: string;              // copy: which file ("MAJOR:MINOR:INODE"; a mapping of it is the same file)
  /** a kind of the kinds table: its own fields (native/resources/KIND/dump_KIND.cc writes them, plan_KIND.cc checks them) */
  state?: Record<string, unknown>;
}

/** An open file description held by several fds (dup, fork), or a pipe's end: made once, before the tree forks. */
export interface SharedFileImage {
  kind: 'path' | 'pipe' | 'deleted' | 'mqueue' | 'pty';
  name?: string;              // mqueue: the queue's name, "/NAME"
  /** pty: an end of a pty pair the job opened (native/resources/pty/dump_pty.cc): its number,
   * which end, and for the master, the pair's state (made again at once by the keeper) */
  pty?: { index: number; master: boolean; pair?: PtyPairImage };
  flags: number;              // O_ACCMODE, O_APPEND, O_NONBLOCK …
  pos: number;
  path?: string;              // path: the file; deleted: where it was (made again, unlinked, in that directory)
  pipe?: number;              // pipe: its inode; end: which end this is
  fifo?: string;              // pipe: the FIFO's path, when it is one (reopened there)
  end?: 'r' | 'w';
  pipeSize?: number;
  content?: { file: string; off: number; len: number };  // pipe: bytes in flight; deleted: its contents (in that page file)
  /** deleted: as FdImage's */
  extents?: [number, number][];
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  memfd?: boolean;
  seals?: number;
  holders: string[];          // "VPID:FD" of every fd holding it
}

/** A pty pair's state (resources/pty/pty_image.h): the slave's settings and input not yet read
 * (in chunks: a line, a line ended by VEOF, the unfinished line, or bytes of a non-canonical
 * terminal), the master's input not yet read, and the session it is the terminal of. */
export interface PtyPairImage {
  locked: boolean;
  packet: boolean;
  termios: string;            // base64 of glibc's struct termios
  rows: number;
  cols: number;
  xpixel: number;
  ypixel: number;
  mode: number;               // the slave's inode
  uid: number;
  gid: number;
  session?: number;           // the vsid whose controlling terminal it is, and its foreground group
  foreground?: number;
  input: { end: 'line' | 'eof' | 'partial' | 'raw'; data: string }[];
  output: string;             // base64
}

export interface ZombieImage {
  vpid: number;
  vppid: number;
  vpgid: number;
  vsid: number;
  comm: string;
  status: number;             // its wait status, as its parent will read it
}

export interface SigactionImage {
  sig: number;
  handler: number;
  flags: number;
  restorer: number;
  mask: string;               // hex
}

/** A task's scheduling (native/resources/task/dump_task.cc dumpScheduling): affinity (base64 cpu_set_t; null: every CPU), policy, priority, I/O priority (0: none set). */
export interface SchedImage {
  cpus: string | null;
  policy: number;
  priority: number;
  ioprio: number;
}

/** A thread's prctl attributes (native/resources/signals/dump_signals.cc dumpThreadAttrs); absent in older images: left as the restoring process has them. */
export interface ThreadAttrsImage {
  pdeathsig: number;          // PR_SET_PDEATHSIG, 0: none
  timerslack: number;         // ns
  securebits: number;         // PR_GET_SECUREBITS (SECBIT_KEEP_CAPS = PR_SET_KEEPCAPS)
  mceKill: number;            // PR_MCE_KILL_GET: 0 late, 1 early, 2 the system's default
  specStoreBypass: number;    // PR_GET_SPECULATION_CTRL (negative: an errno, not controllable)
  specIndirectBranch: number;
  ioFlusher: boolean;         // PR_SET_IO_FLUSHER
}

/** A task's credentials as /proc/PID/task/TID/status shows them (native/resources/task/dump_task.cc dumpCreds); absent in older images. */
export interface CredsImage {
  uid: [number, number, number, number];  // real, effective, saved, filesystem
  gid: [number, number, number, number];
  groups: number[];
  CapInh: string; CapPrm: string; CapEff: string; CapBnd: string; CapAmb: string;  // hex
}

/** A thread other than the main one (whose state is the process's own fields). */
export interface ThreadImage {
  vtid: number;               // its TID as the job sees it
  tid: number;                // its real TID at checkpoint
  comm: string;               // its name
  regs: string;               // as ProcessImage's
  xstate: string;
  sigmask: string;
  pending: string[];          // its own queue
  rseq: { addr: number; len: number; sig: number } | null;
  robustList: { head: number; len: number } | null;
  clearChildTid: number;
  altstack: { sp: number; size: number; flags: number };
  sched?: SchedImage;
  attrs?: ThreadAttrsImage;
  creds?: CredsImage;
}

export interface ProcessImage {
  vpid: number;
  pid: number;                // its real PID at checkpoint
  vppid: number;
  vpgid: number;
  vsid: number;
  comm: string;
  exe: string;
  cmdline: string[];
  cwd: string;
  umask: number;
  nice: number;
  personality: number;
  noNewPrivs: boolean;
  rlimits: [string, string][]; // RLIMIT_CPU .. RLIMIT_RTTIME: cur, max (decimal, "18446744073709551615" = unlimited)
  mm: {
    startCode: number; endCode: number; startData: number; endData: number;
    startBrk: number; brk: number; startStack: number;
    argStart: number; argEnd: number; envStart: number; envEnd: number;
  };
  auxv: string;               // base64 of the auxv words
  regs: string;               // base64 of struct user_regs_struct (normalised: a syscall in progress restarts)
  xstate: string;             // base64 of the NT_X86_XSTATE regset
  sigmask: string;            // hex
  sched?: SchedImage;
  pending: string[];          // base64 siginfo_t (128 bytes) each, thread-private queue
  pendingShared: string[];    // base64 siginfo_t, process-wide queue
  /** SEM_UNDO adjustments: [semid, semaphore, what its exit adds] (native/resources/sysv/dump_sysv.cc) */
  semUndo?: [number, number, number][];
  sigactions: SigactionImage[]; // only the non-default ones
  altstack: { sp: number; size: number; flags: number };
  itimers: { interval: [number, number]; value: [number, number] }[]; // REAL, VIRTUAL, PROF: [sec, usec]
  rseq: { addr: number; len: number; sig: number } | null;
  robustList: { head: number; len: number } | null;
  clearChildTid: number;
  /** the main thread's attributes and credentials (each other thread has its own) */
  attrs?: ThreadAttrsImage;
  creds?: CredsImage;
  /** process attributes; all absent in older images (left as the restoring process has them) */
  oomScoreAdj?: number;
  loginuid?: number;          // /proc/PID/loginuid (4294967295: unset); absent without audit
  subreaper?: boolean;        // PR_SET_CHILD_SUBREAPER
  dumpable?: number;          // PR_GET_DUMPABLE
  membarrier?: number;        // MEMBARRIER_CMD_GET_REGISTRATIONS
  /** its other threads (absent before version 3: none) */
  threads?: ThreadImage[];
  vmas: VmaImage[];
  /** PR_GET_THP_DISABLE's answer (absent: 0, THP as the system has it) */
  thpDisable?: number;
  /** PR_GET_MDWE's answer (absent: 0) */
  mdwe?: number;
  /** mlockall(MCL_FUTURE): new mappings come locked (absent: 'none') */
  mlockFuture?: 'none' | 'locked' | 'onfault';
  fds: FdImage[];
  /** file locks it holds (absent: none): its POSIX ones, and the OFD/flock ones of descriptions it is the first holder of */
  locks?: LockImage[];
  pagesFile: string;          // name of its page file in the image directory
  pagesBytes: number;
  /** the states of the process kinds of the kinds table (native/resources/kinds.h VD_PROCESS_KINDS), each written by its
   * dump_NAME.cc and checked by its plan_NAME.cc (e.g. posix_timers: each timer's id, clock, notification, signal,
   * sigev_value, period and time left) */
  kinds?: Record<string, unknown>;
}

/** A file lock (native/resources/locks/dump_locks.cc), taken again through fd at restore. */
export interface LockImage {
  fd: number;                 // one of the process's fds
  kind: 'posix' | 'ofd' | 'flock';
  type: 'r' | 'w';            // read (LOCK_SH) or write (LOCK_EX)
  start: string;              // decimal byte offset (0 for flock)
  len: string;                // decimal bytes; "0": to the end of the file (and for flock)
}
