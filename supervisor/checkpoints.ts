// Checkpoints of a running domain, on the supervisor's side: on request (`vdomain
// checkpoint`, through the control socket) and periodically (`run --interval`).
// The native dumper freezes the job and writes the page files into a temporary
// directory; this module adds the manifest and commits the image (supervisor/
// image.ts), so an image either is whole or does not look like one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, UserError } from '../cli/errors';
import { commitImage, discardImageDir, prepareImageDir } from './image';
import { shareDescriptions } from '../domains/descriptions';
import { planTree } from '../domains/tree';
import { IMAGE_FORMAT, IMAGE_VERSION, ImageManifest, ProcessImage, SysvObjectImage, ZombieImage } from './manifest';
import type { DomainLog } from './log';
import { ownGroups, readStat } from './procfs';
import type { NativeDomain } from './native';
import type { DomainStatus } from './run';

export interface CheckpointsContext {
  name: string;
  mode: 'identity' | 'remapped';
  vpidBase: number;
  ipc: 'own' | 'host';
  command: string[];
  native: NativeDomain;
  snapshot: () => DomainStatus;
  /** the root's wait status once it has exited (the domain runs on root-exited), else null */
  rootWaitStatus: () => number | null;
  log: DomainLog;
  /** checkpoint --kill: the image is written and the job is being ended */
  onKilled?: (image: string) => void;
}

interface TakeOptions {
  output: string;
  kill: boolean;
  cancelled?: () => boolean;
}

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export class Checkpoints {
  private busy = false;
  private timer?: NodeJS.Timeout;
  private taken: string[] = [];

  constructor(private readonly ctx: CheckpointsContext) {}

  /** One checkpoint; resolves to the image's path. One at a time per domain. */
  async take(opts: TakeOptions): Promise<{ path: string; frozenMs: number; dumpMs: number; writtenMs: number; totalMs: number }> {
    if (this.busy) throw new UserError('a checkpoint of this domain is already in progress', EXIT.FAILURE);
    this.busy = true;
    try {
      return await this.takeNow(opts);
    } finally {
      this.busy = false;
    }
  }

  private async takeNow(opts: TakeOptions) {
    const t0 = performance.now();
    const { native, log } = this.ctx;
    const status = this.ctx.snapshot();
    if (!status.processes.length) throw new UserError(`domain '${this.ctx.name}' has no running job to checkpoint`, EXIT.NO_DOMAIN);
    const exitedRoot = this.exitedRoot(status);
    // a process whose main thread has ended lists as a zombie with threads running on
    const headless = status.processes.filter((p) => p.state === 'Z' && p.threads.length > 1);
    if (headless.length)
      throw refusal(headless.map((p) => `pid ${p.vpid} main thread has ended while ${p.threads.length - 1} other thread(s) run on — not supported yet`));
    // refused before the job is even stopped if the tree as listed could not be made again
    const tids = status.processes.flatMap((p) => p.threads.map((t) => t.vtid).filter((t) => t !== p.vpid));
    const listed = planTree([...status.processes, ...exitedRoot], status.root.vpid, tids);
    if (!listed.ok) throw refusal(listed.problems);
    const root = status.root.vpid;

    const { tmp, final } = prepareImageDir(opts.output);
    let held = false;
    try {
      const tCall = performance.now();
      // the dumper freezes the tree as it is by then (r.processes, r.zombies)
      const r = await native.checkpoint({
        dir: tmp,
        processes: status.processes
          .filter((p) => p.state !== 'Z')
          .map((p) => ({ real: p.pid, vpid: p.vpid, vppid: p.vppid, vpgid: p.vpgid, vsid: p.vsid })),
        hold: opts.kill,
      });
      if (!r.ok) {
        if (r.unsupported.length) throw refusal(r.unsupported);
        throw new UserError(`checkpoint failed: ${r.error}`, EXIT.FAILURE);
      }
      held = opts.kill;
      // the tree as frozen, which may differ from the listing: still one the restorer can make?
      const zombies: ZombieImage[] = [...exitedRoot, ...r.zombies.map(({ real: _real, ...z }) => z)];
      const tree = planTree([...r.processes, ...zombies], root, tids);
      if (!tree.ok) throw refusal(tree.problems);
      // Ctrl-C on `vdomain checkpoint`: nothing is committed, the job runs on
      if (opts.cancelled?.()) throw new UserError('checkpoint cancelled', EXIT.FAILURE);
      const processes = JSON.parse(r.processesJson) as ProcessImage[];
      const shared = shareDescriptions(processes);
      const manifest: ImageManifest = {
        format: IMAGE_FORMAT,
        version: IMAGE_VERSION,
        createdAt: new Date().toISOString(),
        host: os.hostname(),
        kernel: os.release(),
        vdomainVersion: packageVersion(),
        domain: {
          name: this.ctx.name,
          mode: this.ctx.mode,
          vpidBase: this.ctx.vpidBase || null,
          command: this.ctx.command,
          uid: process.getuid?.() ?? 0,
          gid: process.getgid?.() ?? 0,
          groups: ownGroups(),
          ipc: this.ctx.ipc,
        },
        root,
        terminal: r.terminal && {
          stdio: r.terminal.stdio,
          termios: r.terminal.termios.toString('base64'),
          // 0: no group of the job has it (it went on with vdomain's)
          foreground: r.terminal.foreground ? native.virtualize([r.terminal.foreground])[0] : 0,
          rows: r.terminal.rows,
          cols: r.terminal.cols,
        },
        processes,
        zombies,
        shared,
        ...(r.sysvJson ? { sysv: JSON.parse(r.sysvJson) as SysvObjectImage[] } : {}),
        files: Object.fromEntries(r.files.map((f) => [f.name, { size: f.size, crc32c: f.crc32c }])),
        timings: { frozenMs: r.frozenMs, dumpMs: r.dumpMs, totalMs: 0 },
      };
      manifest.timings!.totalMs = performance.now() - t0;
      commitImage(tmp, final, manifest);
      const totalMs = performance.now() - t0;
      // freeze → image fsynced and renamed
      const writtenMs = performance.now() - tCall - r.freezeAtMs;
      if (held) {
        held = false;
        native.release(true);
        this.ctx.onKilled?.(final);
        native.terminate();
      }
      log.info({ image: final, frozenMs: r.frozenMs, dumpMs: r.dumpMs, writtenMs, totalMs, kill: opts.kill }, 'checkpoint written');
      return { path: final, frozenMs: r.frozenMs, dumpMs: r.dumpMs, writtenMs, totalMs };
    } catch (e) {
      discardImageDir(tmp);
      log.warn({ err: (e as Error).message }, 'checkpoint failed; the job runs on');
      throw e;
    } finally {
      if (held) native.release(false);
    }
  }

  /**
   * A root that has exited while its orphans run on (a job that daemonised) is in
   * the image as a zombie root: the restore makes it, it makes the orphans as
   * ever, and exits with its status once they run. It was in the session and
   * group of the command that supervises the domain (and the orphans that kept
   * them still are): the supervisor's own, as the job sees them.
   */
  private exitedRoot(status: DomainStatus): ZombieImage[] {
    const ws = this.ctx.rootWaitStatus();
    if (ws === null) return [];
    const me = readStat(process.pid);
    if (!me) throw new Error('cannot read the supervisor\'s own /proc/PID/stat');
    const [vpgid, vsid] = this.ctx.native.virtualize([me.pgid, me.sid]);
    return [{ vpid: status.root.vpid, vppid: 0, vpgid, vsid, comm: path.basename(this.ctx.command[0] ?? '').slice(0, 15), status: ws }];
  }

  /** `run --interval`: a checkpoint every `seconds`, keeping the newest `keep`. */
  every(seconds: number, keep: number, dir?: string) {
    const base = path.resolve(dir ?? '.');
    fs.mkdirSync(base, { recursive: true, mode: 0o700 });
    let seq = 0;
    this.timer = setInterval(() => {
      if (this.busy) return;
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
      const out = path.join(base, `${this.ctx.name}-${stamp}-${++seq}.vdimg`);
      this.take({ output: out, kill: false })
        .then((r) => {
          this.taken.push(r.path);
          while (this.taken.length > keep) discardImageDir(this.taken.shift()!);
        })
        .catch((e: Error) => this.ctx.log.warn({ err: e.message }, 'periodic checkpoint failed'));
    }, seconds * 1000);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }
}

function refusal(items: string[]): UserError & { details: string[] } {
  const e = new UserError(`cannot checkpoint: ${items.join('; ')}`, EXIT.UNSUPPORTED) as UserError & { details: string[] };
  e.details = items;
  return e;
}
