// `vdomain restore IMAGE`: verify the image whole (supervisor/image.ts), check
// that what it refers to outside itself is still as it was, then supervise the job
// brought back, in the foreground, exactly as `vdomain run` supervises a new one.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, UserError } from '../cli/errors';
import { openImageFile, readImage } from './image';
import { ImageManifest, ProcessImage, SYSV_FILE } from './manifest';
import { planTree } from '../domains/tree';
import { closePageFiles, native, NativeRestoredProcess } from './native';
import { ensureStateDir, socketPath, validName } from './paths';
import { probe } from './control';
import { superviseDomain } from './run';

export interface RestoreOptions {
  dir: string;
  name?: string;
  logLevel?: string;
}

/** Files the image maps or opens by path must be those of the checkpoint. */
export function checkOutsideFiles(proc: ProcessImage): string[] {
  const problems: string[] = [];
  for (const v of proc.vmas) {
    if (!v.path) continue;
    let st: fs.BigIntStats;
    try {
      st = fs.statSync(v.path, { bigint: true });
    } catch (e) {
      problems.push(`${v.path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no longer exists' : (e as Error).message}`);
      continue;
    }
    if (v.fileSize !== undefined && Number(st.size) !== v.fileSize)
      problems.push(`${v.path}: changed since the checkpoint (size ${st.size}, was ${v.fileSize})`);
    else if (v.fileMtimeNs !== undefined && st.mtimeNs.toString() !== v.fileMtimeNs)
      problems.push(`${v.path}: modified since the checkpoint`);
  }
  for (const f of proc.fds) {
    if (f.kind === 'path' && f.path && !fs.existsSync(f.path)) problems.push(`fd ${f.fd}: ${f.path} no longer exists`);
    if (f.kind === 'copy' && f.path && !fs.existsSync(path.dirname(f.path)))
      problems.push(`fd ${f.fd}: directory ${path.dirname(f.path)} (of a deleted file) no longer exists`);
  }
  if (!fs.existsSync(proc.cwd)) problems.push(`working directory ${proc.cwd} no longer exists`);
  return problems;
}

/** Bytes of a page file (verified whole by readImage): a pipe's contents. */
function readBytes(dir: string, at: { file: string; off: number; len: number }, fileSize: number): Buffer {
  const buf = Buffer.alloc(at.len);
  const { fd } = openImageFile(dir, at.file, fileSize);
  try {
    if (fs.readSync(fd, buf, 0, at.len, at.off) !== at.len) throw new UserError(`${dir}: ${at.file} is short`, EXIT.BAD_IMAGE);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

async function pickName(manifest: ImageManifest, asked?: string): Promise<string> {
  if (asked) {
    if (!validName(asked)) throw new UserError(`invalid domain name '${asked}' (letters, digits, . _ -; at most 64)`, EXIT.USAGE);
    return asked;
  }
  // the original may still run under its name: then the copy gets its own
  const base = manifest.domain.name;
  if ((await probe(socketPath(base))) !== 'live') return base;
  const alt = `${base.slice(0, 50)}-r${process.pid}`;
  return alt;
}

export async function restoreImage(opts: RestoreOptions): Promise<number> {
  const startedMs = performance.now();
  const dir = path.resolve(opts.dir);
  const manifest = readImage(dir);
  const zombies = manifest.zombies ?? [];
  const nodes = [...manifest.processes, ...zombies];
  const tree = planTree(nodes, manifest.root ?? manifest.processes[0].vpid);
  if (!tree.ok) throw new UserError(`${dir}: cannot make its process tree: ${tree.problems.join('; ')}`, EXIT.BAD_IMAGE);
  const problems = manifest.processes.flatMap((p) =>
    checkOutsideFiles(p).map((what) => (manifest.processes.length > 1 ? `pid ${p.vpid}: ${what}` : what)),
  );
  for (const f of manifest.shared ?? []) {
    // (a deleted file is made again in its old directory)
    const where = f.kind === 'path' ? f.path : f.kind === 'deleted' ? path.dirname(f.path!) : f.fifo;
    if (where && !fs.existsSync(where)) problems.push(`${where} (open in ${f.holders.join(', ')}) no longer exists`);
  }
  if (problems.length) throw new UserError(`cannot restore: ${problems.join('; ')}`, EXIT.UNSUPPORTED);

  const plans = new Map<number, Buffer>();
  for (const p of manifest.processes) {
    try {
      plans.set(p.vpid, native().buildPlan(p));
    } catch (e) {
      throw new UserError(`${dir}: ${(e as Error).message}`, EXIT.BAD_IMAGE);
    }
  }
  ensureStateDir();
  const name = await pickName(manifest, opts.name);
  const verifiedMs = performance.now();
  const processes: NativeRestoredProcess[] = [];
  const indexOfPages = new Map<string, number>();  // page file → its process's index in `processes`
  try {
    for (const step of tree.steps) {
      const common = { parent: step.parent, groupOf: step.groupOf, setsid: step.setsid };
      if (step.from >= manifest.processes.length) {
        const z = zombies[step.from - manifest.processes.length];
        processes.push({ vpid: z.vpid, ...common, zombie: true, status: z.status });
        continue;
      }
      const p = manifest.processes[step.from];
      indexOfPages.set(p.pagesFile, processes.length);
      processes.push({
        vpid: p.vpid,
        ...common,
        zombie: false,
        status: 0,
        plan: plans.get(p.vpid),
        pagesFd: openImageFile(dir, p.pagesFile, manifest.files[p.pagesFile].size).fd,
        regs: Buffer.from(p.regs, 'base64'),
        xstate: Buffer.from(p.xstate, 'base64'),
        sigmask: p.sigmask,
        threads: (p.threads ?? []).map((t) => ({
          vtid: t.vtid,
          regs: Buffer.from(t.regs, 'base64'),
          xstate: Buffer.from(t.xstate, 'base64'),
          sigmask: t.sigmask,
          clearChildTid: t.clearChildTid,
        })),
      });
    }
  } catch (e) {
    closePageFiles(processes);
    throw new UserError(`${dir}: ${(e as Error).message}`, EXIT.BAD_IMAGE);
  }
  const shared = (manifest.shared ?? []).map((f) => {
    if (f.kind !== 'deleted') return { ...f, data: f.content ? readBytes(dir, f.content, manifest.files[f.content.file].size) : undefined };
    // the keeper's child copies the contents from that process's page file
    return { ...f, contentProc: indexOfPages.get(f.content!.file) ?? -1, contentOff: f.content!.off, contentLen: f.content!.len };
  });
  const root = manifest.processes[tree.steps[0].from];
  const maxVpid = Math.max(...nodes.map((p) => p.vpid), ...manifest.processes.flatMap((p) => (p.threads ?? []).map((t) => t.vtid)));
  return superviseDomain({
    name,
    command: root.cmdline.length ? root.cmdline : [root.comm],
    vpidBase: 0,
    logLevel: opts.logLevel,
    hostIpc: manifest.domain.ipc === 'host',
    restore: {
      image: dir,
      sysvFile: manifest.sysv?.length ? path.join(dir, SYSV_FILE) : undefined,
      startedMs,
      verifiedMs,
      processes,
      shared,
      terminal: manifest.terminal && { ...manifest.terminal, termios: Buffer.from(manifest.terminal.termios, 'base64') },
      nextVpid: Math.max(maxVpid + 1, manifest.domain.vpidBase ?? 0),
    },
  });
}
