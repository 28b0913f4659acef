// The compiled native part (node-gyp output), loaded once.
import fs from 'node:fs';
import path from 'node:path';

import type { SharedFileImage } from './manifest';

/** What the native side needs to restore a process (native/core/restore.cc). */
/** One process of a restore, in creation order (domains/tree.ts, plan.h's vd_tree). */
export interface NativeRestoredProcess {
  vpid: number;
  parent: number;     // index of the parent; -1 for the root
  groupOf: number;    // joins the group of that earlier process; -1: its parent's
  setsid: boolean;
  zombie: boolean;    // exits at once with `status` (a wait status)
  status: number;
  ctty?: number;      // a session leader whose controlling terminal is the pty of that master's shared entry
  ttyForeground?: number;  // the first of its group: the group is that pty's foreground
  // live processes only:
  plan?: Buffer;      // the restorer's plan (buildPlan)
  pagesFd?: number;   // the page file, open for reading
  regs?: Buffer;      // struct user_regs_struct
  xstate?: Buffer;    // NT_X86_XSTATE
  sigmask?: string;   // hex
  /** its threads other than the main one, in the plan's order */
  threads?: { vtid: number; regs: Buffer; xstate: Buffer; sigmask: string; clearChildTid: number }[];
}

/** A file made once for the restored tree (manifest SharedFileImage; plan.h vd_shared_file). */
export interface NativeSharedFile {
  kind: 'path' | 'pipe' | 'deleted' | 'mqueue' | 'pty';
  name?: string;      // mqueue: the queue's name
  pty?: SharedFileImage['pty'];  // pty: packed by the addon (resources/pty/plan_pty.cc)
  flags: number;
  pos: number;
  path?: string;
  pipe?: number;
  fifo?: string;
  end?: 'r' | 'w';
  pipeSize?: number;
  data?: Buffer;      // a pipe's bytes in flight
  /** deleted: its contents, contentLen bytes at contentOff of the page file of process contentProc (index of processes) */
  contentProc?: number;
  contentOff?: number;
  contentLen?: number;
  /** deleted: its extents, size, mode and owner (SharedFileImage) */
  extents?: [number, number][];
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** The job's terminal: stdio k, struct termios, foreground group (real at checkpoint; virtual at restore), window size. */
export interface NativeTerminal {
  stdio: number;
  termios: Buffer;
  foreground: number;
  rows?: number;
  cols?: number;
}

export interface NativeRestore {
  processes: NativeRestoredProcess[];
  terminal?: NativeTerminal;
  shared: NativeSharedFile[];
  nextVpid: number;
}

/** The restore's page files: closed once the keeper's child has its copies (or on failure). */
export function closePageFiles(processes: NativeRestoredProcess[]) {
  for (const p of processes) {
    if (p.pagesFd === undefined || p.pagesFd < 0) continue;
    try {
      fs.closeSync(p.pagesFd);
    } catch {
      // closed already
    }
    p.pagesFd = -1;
  }
}

export interface NativeDomain {
  start(): void;
  /** start() off node's thread (a restore): rejected as start() throws (with abortRestore's reason once aborted) */
  startAsync(): Promise<void>;
  /** while startAsync restores: fail it with reason, leaving nothing of it; false once it had succeeded */
  abortRestore(reason: string): boolean;
  virtualize(real: number[]): number[];
  terminate(): void;
  close(): void;
  readonly rootPid: number;
  readonly rootVirt: number;
  readonly keeperPid: number;
  /** after start(): does the domain run without translation? */
  readonly identity: boolean;
  /** after start(): has the domain an IPC namespace of its own (its SysV objects are checkpointed)? */
  readonly ownIpc: boolean;
  /** processes: as listed; the dumper freezes the tree as it is by then (result.processes, result.zombies) */
  checkpoint(req: { dir: string; processes: CheckpointProcess[]; hold: boolean }): Promise<NativeCheckpointResult>;
  /** after a checkpoint with hold: let the job go on, or kill it */
  release(kill: boolean): void;
}

export interface CheckpointProcess {
  real: number;
  vpid: number;
  vppid: number;
  vpgid: number;
  vsid: number;
}

export interface NativeCheckpointResult {
  ok: boolean;
  error: string;
  /** the tree as frozen (a process born or gone since the listing is in or out) */
  processes: CheckpointProcess[];
  zombies: (CheckpointProcess & { comm: string; status: number })[];
  terminal?: NativeTerminal;
  unsupported: string[];
  processesJson: string;
  /** the domain's SysV objects (SysvObjectImage[] as JSON, written to sysv.img); "" when none */
  sysvJson: string;
  files: { name: string; size: number; crc32c: string }[];
  frozenMs: number;
  dumpMs: number;
  freezeAtMs: number;
}

export interface NativeModule {
  Domain: new (opts: {
    keeper: string;
    argv: string[];
    filter: Buffer;
    rules: readonly object[];
    vpidBase: number;
    /** share the host's IPC namespace instead of one of the domain's own */
    hostIpc: boolean;
    /** the fds beyond 0-2 this command inherited: the keeper and the job get them at their numbers */
    inherited: number[];
    /** a restore: the image's sysv.img, when it has SysV objects */
    sysvFile?: string;
    restore?: NativeRestore;
    onEvent: (type: string, a: number, b: number, text: string) => void;
  }) => NativeDomain;
  peerCred(fd: number): { pid: number; uid: number; gid: number } | null;
  /** the kinds of fd of the kinds table (native/resources/kinds.h): an fd of one has its fields in "state" */
  fdKinds: string[];
  /** the process kinds of the kinds table: a process's "kinds" holds their states */
  processKinds: string[];
  /** the restorer's binary plan for one process of a verified manifest */
  buildPlan(processImage: object): Buffer;
  checksumFile(path: string): { size: number; crc32c: string };
  crc32c(data: Buffer): string;
  /** SHA-256, 64 hex digits (node:crypto's load would cost every restore 5-6 ms) */
  sha256(data: Buffer): string;
}

const buildDir = path.join(__dirname, '..', '..', 'build', 'Release');
export const keeperPath = path.join(buildDir, 'vdomain-keeper');

let loaded: NativeModule | undefined;
export function native(): NativeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require(path.join(buildDir, 'vdomain_native.node')) as NativeModule;
  return loaded;
}
