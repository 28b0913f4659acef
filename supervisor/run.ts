// `vdomain run`: the supervisor of one domain, in the foreground. It starts the
// keeper and the job through the native side, serves the control socket, logs to
// the domain's own file (never to the job's output) and exits with the job's status
// once the last process of the domain has ended.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, UserError } from '../cli/errors';
import { compileFilter, encodeFilter } from '../domains/filter';
import { SYSCALLS } from '../domains/syscalls';
import { Checkpoints } from './checkpoints';
import { DomainLog, Level } from './log';
import { INHERITED_FDS } from './inherited';
import { ControlServer } from './control';
import { DomainEvents, shellStatus } from './events';
import { closePageFiles, keeperPath, native, NativeDomain, NativeRestore } from './native';
import { ensureStateDir, logPath, validName } from './paths';
import { descendants } from './procfs';

export interface RunOptions {
  argv: string[];
  name?: string;
  vpidBase?: number;
  logLevel?: string;
  /** checkpoint every `interval` seconds, keeping the last `keep` images */
  interval?: number;
  keep?: number;
  checkpointDir?: string;
  /** share the host's IPC namespace (the default gives the domain one of its own) */
  hostIpc?: boolean;
}

export interface ProcessView {
  vpid: number;
  pid: number;
  vppid: number;
  ppid: number;
  vpgid: number;
  vsid: number;
  comm: string;
  state: string;
  threads: { vtid: number; tid: number }[];
}

export interface DomainStatus {
  name: string;
  state: 'running' | 'root-exited';
  mode: 'identity' | 'remapped';
  vpidBase: number | null;
  /** 'own': the domain has an IPC namespace of its own; 'host': it shares the host's */
  ipc: 'own' | 'host';
  supervisorPid: number;
  keeperPid: number;
  command: string[];
  startedAt: string;
  root: { pid: number; vpid: number; exitStatus: number | null };
  processes: ProcessView[];
  restoredFrom?: string;
}

/** Finds the program the way execvp will, to fail early with the right status. */
export function resolveCommand(cmd: string): string {
  const check = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return 'missing';
    }
    if (st.isDirectory()) return 'not-executable';
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return 'ok';
    } catch {
      return 'not-executable';
    }
  };
  if (cmd.includes('/')) {
    const r = check(cmd);
    if (r === 'missing') throw new UserError(`${cmd}: no such file`, EXIT.NOT_FOUND);
    if (r === 'not-executable') throw new UserError(`${cmd}: not executable`, EXIT.NOT_EXECUTABLE);
    return cmd;
  }
  let sawNonExec = false;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', cmd);
    const r = check(p);
    if (r === 'ok') return p;
    if (r === 'not-executable') sawNonExec = true;
  }
  if (sawNonExec) throw new UserError(`${cmd}: not executable`, EXIT.NOT_EXECUTABLE);
  throw new UserError(`${cmd}: command not found`, EXIT.NOT_FOUND);
}

/** program-PID, made a valid name whatever the program is called */
export function defaultName(program: string): string {
  const stem = path.basename(program).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40);
  return `${stem || 'job'}-${process.pid}`;
}

export async function runDomain(opts: RunOptions): Promise<number> {
  if (!opts.argv.length) throw new UserError('no command given (vdomain run -- CMD [ARGS...])', EXIT.USAGE);
  resolveCommand(opts.argv[0]);
  ensureStateDir();
  const name = opts.name ?? defaultName(opts.argv[0]);
  if (!validName(name)) throw new UserError(`invalid domain name '${name}' (letters, digits, . _ -; at most 64)`, EXIT.USAGE);
  const vpidBase = opts.vpidBase ?? 0;
  return superviseDomain({
    name,
    command: opts.argv,
    vpidBase,
    logLevel: opts.logLevel,
    interval: opts.interval,
    keep: opts.keep,
    checkpointDir: opts.checkpointDir,
    hostIpc: opts.hostIpc ?? false,
  });
}

/** What a supervisor runs: a fresh job (`run`) or one brought back (`restore`). */
export interface DomainSpec {
  name: string;
  command: string[];
  vpidBase: number;
  logLevel?: string;
  restore?: RestoreSpec;
  interval?: number;
  keep?: number;
  checkpointDir?: string;
  hostIpc: boolean;
}

export interface RestoreSpec extends NativeRestore {
  image: string;
  /** the image's sysv.img, when it holds SysV objects */
  sysvFile?: string;
  /** performance.now() when the restore began, and once the image was verified */
  startedMs: number;
  verifiedMs: number;
}

/**
 * The supervisor of one domain, in the foreground: starts (or restores) the job
 * through the native side, serves the control socket, logs to the domain's own
 * file and returns the job's exit status once the domain is empty.
 */
export async function superviseDomain(spec: DomainSpec): Promise<number> {
  const { name, vpidBase } = spec;
  let mode: 'identity' | 'remapped' = vpidBase ? 'remapped' : 'identity';

  let status: DomainStatus | undefined;
  let nativeDomain: NativeDomain | undefined;
  let checkpoints: Checkpoints | undefined;
  const control = new ControlServer(name, (req, ctx) => {
    if (req.op === 'list') return snapshot();
    if (req.op === 'checkpoint') {
      if (!checkpoints) throw new Error('the domain is still starting');
      return checkpoints.take({ output: req.output, kill: !!req.kill, cancelled: ctx.closed });
    }
    throw new Error(`unknown request ${JSON.stringify((req as { op: unknown }).op)}`);
  });
  if (!(await control.listen())) throw new UserError(`a domain named '${name}' is already running`, EXIT.NAME_TAKEN);

  const log = new DomainLog({ name, level: spec.logLevel ?? process.env.VDOMAIN_LOG_LEVEL ?? 'info', file: logPath(name) });
  const events = new DomainEvents();
  let rootWaitStatus: number | null = null;
  // set by checkpoint --kill: the job was ended on purpose, once its image was written
  let killedInto: string | undefined;
  const ended = new Promise<void>((resolve) => events.once('empty', resolve));
  events.on('root-exit', (ws) => {
    rootWaitStatus = ws;
    log.info({ waitStatus: ws, status: shellStatus(ws) }, 'root exited');
  });
  events.on('log', (level, message) => log.log(level as Level, message));

  function snapshot(): DomainStatus {
    if (!status || !nativeDomain) throw new Error('the domain is still starting');
    const s = status;
    const procs = descendants(s.keeperPid);
    const reals = procs.flatMap((p) => [p.pid, p.ppid, p.pgid, p.sid, ...p.threads]);
    const virt = new Map<number, number>();
    const v = nativeDomain.virtualize(reals);
    reals.forEach((r, i) => virt.set(r, v[i]));
    const vOf = (r: number) => virt.get(r) ?? 0;
    return {
      ...s,
      state: rootWaitStatus === null ? 'running' : 'root-exited',
      root: { ...s.root, exitStatus: rootWaitStatus === null ? null : shellStatus(rootWaitStatus) },
      processes: procs.map((p) => ({
        vpid: vOf(p.pid),
        pid: p.pid,
        vppid: vOf(p.ppid),
        ppid: p.ppid,
        vpgid: vOf(p.pgid),
        vsid: vOf(p.sid),
        comm: p.comm,
        state: p.state,
        threads: p.threads.map((t) => ({ vtid: vOf(t), tid: t })),
      })),
    };
  }

  nativeDomain = new (native().Domain)({
    keeper: keeperPath,
    argv: spec.command,
    // a restore learns only once the keeper forked whether it translates: give it the
    // remapped filter, used only then
    filter: encodeFilter(compileFilter(spec.restore ? 'remapped' : mode)),
    rules: SYSCALLS,
    vpidBase,
    hostIpc: spec.hostIpc,
    inherited: [...INHERITED_FDS],
    sysvFile: spec.restore?.sysvFile,
    restore: spec.restore,
    onEvent: (type, a, _b, text) => {
      if (type === 'exit') events.emit('root-exit', a);
      else if (type === 'empty') events.emit('empty');
      else if (type === 'log') {
        const [level, msg] = text.split('\t');
        events.emit('log', level, msg);
      }
    },
  });

  // Terminal signals reach the job through the process group it shares with us;
  // the supervisor must survive them. SIGTERM/SIGHUP aimed at the supervisor are
  // passed to the job's root; once the root is gone they end the domain.
  // While a restore is being made, the same signals end it instead (a SIGINT too:
  // the job does not run yet, so the Ctrl-C is meant for the restore command).
  let restoring = !!spec.restore;
  let interruptedBy: NodeJS.Signals | undefined;
  const abortRestore = (sig: NodeJS.Signals) => {
    if (!restoring || interruptedBy) return false;
    if (!nativeDomain!.abortRestore(`restore interrupted by ${sig}`)) return false;  // it had just succeeded
    interruptedBy = sig;
    log.info({ signal: sig }, 'restore interrupted');
    return true;
  };
  const forward = (sig: NodeJS.Signals) => () => {
    if (abortRestore(sig)) return;
    log.info({ signal: sig }, 'signal to supervisor');
    if (rootWaitStatus === null) {
      try {
        process.kill(nativeDomain!.rootPid, sig);
      } catch {
        // already gone
      }
    } else nativeDomain!.terminate();
  };
  const ignore = () => {};
  process.on('SIGINT', () => abortRestore('SIGINT'));
  process.on('SIGQUIT', ignore);
  process.on('SIGUSR1', ignore);
  process.on('SIGUSR2', ignore);
  process.on('SIGPIPE', ignore);
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGHUP', forward('SIGHUP'));

  let startError: (Error & { errno?: number; exec?: boolean }) | undefined;
  try {
    if (spec.restore) await nativeDomain.startAsync();
    else nativeDomain.start();
  } catch (e) {
    startError = e as Error & { errno?: number; exec?: boolean };
  }
  restoring = false;
  // (a signal that came as the restore was finishing: the job is ended all the same)
  if (!startError && interruptedBy) startError = new Error(`restore interrupted by ${interruptedBy}`);
  if (spec.restore) {
    closePageFiles(spec.restore.processes);
    if (!startError) {
      mode = nativeDomain.identity ? 'identity' : 'remapped';
      const now = performance.now();
      const timings = {
        verifyMs: spec.restore.verifiedMs - spec.restore.startedMs,
        restoreMs: now - spec.restore.startedMs,  // image opened → job running
        sinceCommandStartMs: now,                 // node's own start-up included
      };
      log.info(timings, 'restored');
      // a zombie root (it had exited, its orphans ran on) ends as it did: the domain is root-exited
      const root = spec.restore.processes[0];
      if (root.zombie && rootWaitStatus === null) rootWaitStatus = root.status;
      // for the benchmark: one JSON line on stderr
      if (process.env.VDOMAIN_TIMINGS) fs.writeSync(2, JSON.stringify({ restore: timings }) + '\n');
    }
  }
  if (!startError || nativeDomain.rootPid > 0) {
    status = {
      name,
      state: 'running',
      mode,
      vpidBase: mode === 'remapped' ? vpidBase || null : null,
      ipc: nativeDomain.ownIpc ? 'own' : 'host',
      supervisorPid: process.pid,
      keeperPid: nativeDomain.keeperPid,
      command: spec.command,
      startedAt: new Date().toISOString(),
      root: { pid: nativeDomain.rootPid, vpid: nativeDomain.rootVirt, exitStatus: null },
      processes: [],
      ...(spec.restore ? { restoredFrom: spec.restore.image } : {}),
    };
    log.info({ mode, vpidBase, root: status.root, keeper: status.keeperPid, argv: spec.command, restoredFrom: spec.restore?.image }, 'domain started');
  }
  // the job runs (or failed to start): now the log can take its time to load
  log.open();
  if (startError) {
    log.error({ err: startError.message }, 'start failed');
    nativeDomain.terminate();
  } else {
    checkpoints = new Checkpoints({ name, mode, vpidBase, command: spec.command, native: nativeDomain, snapshot, log, ipc: status!.ipc,
      rootWaitStatus: () => rootWaitStatus, onKilled: (image) => (killedInto = image) });
    if (spec.interval) checkpoints.every(spec.interval, spec.keep ?? 3, spec.checkpointDir);
  }
  // Without a root the keeper never started a domain: nothing will end.
  if (nativeDomain.rootPid > 0) await ended;
  checkpoints?.stop();
  nativeDomain.close();
  control.close();
  log.info('domain empty, supervisor exits');
  if (startError) {
    const e = startError.errno;
    // (the message native/core/restore.cc gives a lock another process holds)
    if (spec.restore && startError.message.startsWith('restore refused: lock conflict: ')) throw new UserError(startError.message, EXIT.LOCKED);
    // 128 + the signal, as a shell reports a command the signal ended
    if (spec.restore && interruptedBy)
      throw new UserError(`restore interrupted by ${interruptedBy}: nothing of the job was left running`, 128 + os.constants.signals[interruptedBy]);
    if (spec.restore) throw new UserError(startError.message, EXIT.FAILURE);
    // the program was found before the start: ENOENT now means its interpreter
    // (#!) or its ELF loader is missing, which a shell reports as 126 too
    if (startError.exec && e === 2) throw new UserError(`${spec.command[0]}: bad interpreter or loader: no such file`, EXIT.NOT_EXECUTABLE);
    if (startError.exec) throw new UserError(`${spec.command[0]}: cannot execute (${startError.message})`, EXIT.NOT_EXECUTABLE);
    throw new UserError(`cannot start the domain: ${startError.message}`, EXIT.FAILURE);
  }
  // The same status every time, whether or not the root's own exit was seen before
  // the domain emptied; one a job script can tell from a SIGKILL (137) and requeue on.
  if (killedInto !== undefined) {
    fs.writeSync(2, `vdomain: checkpointed into ${killedInto} and ended; restore it to go on\n`);
    return EXIT.CHECKPOINTED;
  }
  return rootWaitStatus === null ? EXIT.FAILURE : shellStatus(rootWaitStatus);
}
