// The syscall table: every x86-64 system call that carries a process identifier,
// as data. One row per call says where the identifiers are and how a remapped
// domain translates them. The BPF filter (filter.ts) and the native handlers
// (native/core/rules.cc) are both driven by this table; nothing else lists syscalls.
//
// How a call is handled in a remapped (--vpid-base) domain:
//   answer  — the supervisor answers through seccomp user notification without
//             running the call (cheapest: one notify round trip, ~7 µs).
//   open    — notified; the supervisor reads the path and, when it names
//             /proc/<vpid>, opens the real path itself and installs the fd.
//   trace   — the call must run in the job's own context with a rewritten argument
//             or result: SECCOMP_RET_TRACE to the ptrace assist, which rewrites the
//             arguments at entry and, if `result`/`out` say so, the result at exit.
// In an identity domain nothing is translated and no row is matched at all.
//
// Argument kinds (what the value in the register means):
//   pid         0 = self (left alone), > 0 a PID/TID to translate, < 0 left alone
//   tid         a TID: as pid, but the real TID of a thread of the caller's own
//               process also passes (glibc's thread descriptors hold real TIDs)
//   pid-or-pgrp > 0 a PID, < -1 a process group (-pgid), 0 and -1 left alone (kill, wait4)
//   prio-who    translated as PID when arg0 is PRIO_PROCESS, as PGID when PRIO_PGRP
//   ioprio-who  as PID when arg0 is IOPRIO_WHO_PROCESS, as PGID when IOPRIO_WHO_PGRP
//   waitid-id   as PID when arg0 is P_PID, as PGID when P_PGID
//   pgrp-ptr    pointer to an int PGID (ioctl TIOCSPGRP): translated in memory
//   sigevent-tid pointer to a struct sigevent: its TID, when sigev_notify is
//               SIGEV_THREAD_ID, translated in memory as a tid (timer_create)
// Results: pid (a PID/TID in the return value), siginfo (si_pid in the siginfo_t
// at argument `out`, waitid: always a child's), signal-siginfo (the siginfo_t of a
// signal taken at argument `out`: si_pid where its si_code says a process sent it),
// pgrp-ptr (an int PGID the kernel wrote at argument `out`).

export type Answer = 'getpid' | 'gettid' | 'getppid' | 'getpgrp' | 'getpgid' | 'getsid' | 'readlink-proc';
export type ArgKind = 'pid' | 'tid' | 'pid-or-pgrp' | 'prio-who' | 'ioprio-who' | 'waitid-id' | 'pgrp-ptr' | 'sigevent-tid';
export type ResultKind = 'pid' | 'siginfo' | 'signal-siginfo' | 'pgrp-ptr';

export interface SyscallRow {
  name: string;
  nr: number;
  how: 'answer' | 'open' | 'trace';
  answer?: Answer;
  /** kind of each argument, by position; missing = not an identifier */
  args?: Partial<Record<0 | 1 | 2 | 3 | 4 | 5, ArgKind>>;
  result?: ResultKind;
  /** argument index of the pointer the result kind refers to */
  out?: number;
  /** the call reaps a child (wait4, waitid without WNOWAIT): forget its virtual PID */
  reaps?: boolean;
  /** let the call through in BPF when all these arguments are 0 (they mean "self") */
  passWhenZero?: number[];
  /** match only when argument 1 equals one of these (ioctl request numbers) */
  onlyArg1?: number[];
}

// ioctl requests that carry a process group
export const TIOCGPGRP = 0x540f;
export const TIOCSPGRP = 0x5410;
export const TIOCGSID = 0x5429;

export const SYSCALLS: readonly SyscallRow[] = [
  // answered by the supervisor
  { name: 'getpid', nr: 39, how: 'answer', answer: 'getpid' },
  { name: 'gettid', nr: 186, how: 'answer', answer: 'gettid' },
  { name: 'getppid', nr: 110, how: 'answer', answer: 'getppid' },
  { name: 'getpgrp', nr: 111, how: 'answer', answer: 'getpgrp' },
  { name: 'getpgid', nr: 121, how: 'answer', answer: 'getpgid' },
  { name: 'getsid', nr: 124, how: 'answer', answer: 'getsid' },
  { name: 'readlink', nr: 89, how: 'answer', answer: 'readlink-proc' },
  { name: 'readlinkat', nr: 267, how: 'answer', answer: 'readlink-proc' },
  // /proc/<vpid>/... paths
  { name: 'open', nr: 2, how: 'open' },
  { name: 'openat', nr: 257, how: 'open' },
  // run in the job's context, arguments rewritten
  { name: 'setpgid', nr: 109, how: 'trace', args: { 0: 'pid', 1: 'pid' }, passWhenZero: [0, 1] },
  { name: 'kill', nr: 62, how: 'trace', args: { 0: 'pid-or-pgrp' }, passWhenZero: [0] },
  { name: 'tkill', nr: 200, how: 'trace', args: { 0: 'tid' } },
  { name: 'tgkill', nr: 234, how: 'trace', args: { 0: 'pid', 1: 'tid' } },
  { name: 'rt_sigqueueinfo', nr: 129, how: 'trace', args: { 0: 'pid' } },
  { name: 'rt_tgsigqueueinfo', nr: 297, how: 'trace', args: { 0: 'pid', 1: 'tid' } },
  { name: 'pidfd_open', nr: 434, how: 'trace', args: { 0: 'pid' } },
  { name: 'sched_setparam', nr: 142, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'sched_getparam', nr: 143, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'sched_setscheduler', nr: 144, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'sched_getscheduler', nr: 145, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'sched_rr_get_interval', nr: 148, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'sched_setaffinity', nr: 203, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'sched_getaffinity', nr: 204, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'sched_setattr', nr: 314, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'sched_getattr', nr: 315, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'prlimit64', nr: 302, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'getpriority', nr: 140, how: 'trace', args: { 1: 'prio-who' }, passWhenZero: [1] },
  { name: 'setpriority', nr: 141, how: 'trace', args: { 1: 'prio-who' }, passWhenZero: [1] },
  { name: 'ioprio_set', nr: 251, how: 'trace', args: { 1: 'ioprio-who' }, passWhenZero: [1] },
  { name: 'ioprio_get', nr: 252, how: 'trace', args: { 1: 'ioprio-who' }, passWhenZero: [1] },
  { name: 'get_robust_list', nr: 274, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'process_vm_readv', nr: 310, how: 'trace', args: { 0: 'pid' } },
  { name: 'process_vm_writev', nr: 311, how: 'trace', args: { 0: 'pid' } },
  { name: 'kcmp', nr: 312, how: 'trace', args: { 0: 'pid', 1: 'pid' } },
  { name: 'timer_create', nr: 222, how: 'trace', args: { 1: 'sigevent-tid' }, passWhenZero: [1] },
  { name: 'migrate_pages', nr: 256, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  { name: 'move_pages', nr: 279, how: 'trace', args: { 0: 'pid' }, passWhenZero: [0] },
  // run in the job's context, result rewritten
  { name: 'setsid', nr: 112, how: 'trace', result: 'pid' },
  { name: 'wait4', nr: 61, how: 'trace', args: { 0: 'pid-or-pgrp' }, result: 'pid', reaps: true },
  { name: 'waitid', nr: 247, how: 'trace', args: { 1: 'waitid-id' }, result: 'siginfo', out: 2, reaps: true },
  // sigwaitinfo, sigtimedwait: a signal taken without delivery (no signal-delivery stop to rewrite it at)
  { name: 'rt_sigtimedwait', nr: 128, how: 'trace', result: 'signal-siginfo', out: 1 },
  {
    name: 'ioctl', nr: 16, how: 'trace', args: { 2: 'pgrp-ptr' }, result: 'pgrp-ptr', out: 2,
    onlyArg1: [TIOCSPGRP, TIOCGPGRP, TIOCGSID],
  },
];

/**
 * Calls that carry identifiers but are not in the table, and what the job sees.
 * Kept here beside the table so `vdomain syscalls` prints one truth with it.
 */
export const NOT_TRANSLATED: readonly { name: string; sees: string }[] = [
  { name: 'fork, vfork, clone, clone3', sees: 'the child PID is translated by ptrace fork events, not by the filter; a thread-creating clone returns the real TID (docs/decisions/0002)' },
  { name: 'kill(-1, sig)', sees: 'not confined to the domain: reaches every process of the user, as outside vdomain' },
  { name: 'ptrace', sees: 'unavailable in a remapped domain (the supervisor is the tracer): EPERM' },
  { name: 'capget/capset with a PID in the header', sees: 'the PID in memory is not translated: use 0 (self)' },
  { name: 'perf_event_open with a PID', sees: 'the PID is not translated' },
  { name: 'fcntl F_SETOWN/F_GETOWN', sees: 'the owner PID is not translated' },
  { name: 'SCM_CREDENTIALS, SO_PEERCRED', sees: 'real PIDs' },
  { name: 'signalfd reads (ssi_pid)', sees: 'the real PID of the sender: a read() result, not translated' },
  { name: 'contents of /proc files (/proc/<pid>/stat, status), getdents of /proc', sees: 'real PIDs; only the /proc/<vpid> path in open/openat and readlink of /proc/self are translated' },
  { name: "glibc's thread descriptor TID (CLONE_PARENT_SETTID/CLONE_CHILD_SETTID words, the set_tid_address result)", sees: 'the real TID, on purpose: the kernel reads it as the owner of robust and PI futexes; gettid() returns the virtual one (docs/decisions/0009)' },
  { name: 'SysV keys and ids (shmget … msgctl)', sees: "the domain's own without translation: each domain has an IPC namespace of its own, made again with the same ids at restore (docs/decisions/0010)" },
  { name: 'PIDs in SysV results (shm_cpid/shm_lpid, msg_lspid/msg_lrpid of IPC_STAT, semctl GETPID, /proc/sysvipc)', sees: 'real PIDs; after a restore, until the job operates on the object again, those of the keeper that made it again' },
  { name: 'i386 and x32 system calls', sees: 'refused with ENOSYS in remapped domains (their PIDs would bypass translation)' },
];

export function rowByName(name: string): SyscallRow | undefined {
  return SYSCALLS.find((r) => r.name === name);
}

/** The table as `vdomain syscalls` prints it. */
export function formatSyscallTable(rows: readonly SyscallRow[] = SYSCALLS): string {
  const how = (r: SyscallRow) => {
    if (r.how === 'answer') return 'answered by the supervisor (seccomp notify)';
    if (r.how === 'open') return 'notified: /proc/<vpid> paths opened by the supervisor';
    const args = Object.entries(r.args ?? {}).map(([i, k]) => `arg${i} ${k}`);
    if (r.result) args.push(`result ${r.result}`);
    return `ptrace assist: ${args.join(', ')}`;
  };
  const lines = rows.map((r) => `${r.name.padEnd(22)} ${String(r.nr).padStart(3)}  ${how(r)}`);
  lines.push('', 'not translated:');
  for (const n of NOT_TRANSLATED) lines.push(`  ${n.name}: ${n.sees}`);
  return lines.join('\n') + '\n';
}
