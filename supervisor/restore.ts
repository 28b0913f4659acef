// `vdomain restore IMAGE`: verify the image whole (supervisor/image.ts), check
// that what it refers to outside itself is still as it was, then supervise the job
// brought back, in the foreground, exactly as `vdomain run` supervises a new one.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, UserError } from '../cli/errors';
import { openImageFile, readImage } from './image';
import { CredsImage, ImageManifest, MANIFEST_NAME, ProcessImage, SharedFileImage, SYSV_FILE } from './manifest';
import { HELPER, planTree } from '../domains/tree';
import { closePageFiles, native, NativeRestoredProcess } from './native';
import { ensureStateDir, socketPath, validName } from './paths';
import { probe } from './control';
import { ownGroups } from './procfs';
import { superviseDomain } from './run';
import { INHERITED_FDS } from './inherited';

export interface RestoreOptions {
  dir: string;
  name?: string;
  logLevel?: string;
  /** root only: restore another user's image as that user (docs/decisions/0011) */
  asRecordedUser?: boolean;
}

/** Files the image maps or opens by path must be those of the checkpoint. */
export function checkOutsideFiles(proc: ProcessImage): string[] {
  const problems: string[] = [];
  for (const v of proc.vmas) {
    if (!v.path || v.deletedFile) continue;  // (a deleted file is made again, as an fd's)
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
    // (a deleted file is made again where it was, or in the nearest directory above that still exists)
  }
  if (!fs.existsSync(proc.cwd)) problems.push(`working directory ${proc.cwd} no longer exists`);
  return problems;
}

/**
 * The fds the job inherited from `vdomain run` other than 0-2 (kind 'stdio',
 * stdio ≥ 3) are bound to the restoring command's fds of the same numbers: each
 * must be one this command inherited itself (supervisor/inherited.ts). The first
 * one missing, as one line.
 */
export function missingInheritedFd(processes: ProcessImage[]): string | undefined {
  for (const p of processes)
    for (const f of p.fds) {
      if (f.kind !== 'stdio' || f.stdio === undefined || f.stdio <= 2 || INHERITED_FDS.includes(f.stdio)) continue;
      const who = processes.length > 1 ? `pid ${p.vpid} fd ${f.fd}` : `fd ${f.fd}`;
      return `cannot restore: ${who} (${f.target}) came from outside the domain as fd ${f.stdio} of \`vdomain run\`; ` +
        `give \`vdomain restore\` an fd ${f.stdio} to bind it to (e.g. ${f.stdio}<FILE or ${f.stdio}>FILE)`;
    }
  return undefined;
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

const myUid = () => process.getuid?.() ?? 0;

/** The uid owning the image: its directory's and its manifest file's (not a symlink). */
function imageOwner(dir: string): number {
  let dirSt: fs.Stats, mSt: fs.Stats;
  try {
    dirSt = fs.statSync(dir);
  } catch {
    return myUid();  // missing: readImage says what is wrong
  }
  try {
    mSt = fs.lstatSync(path.join(dir, MANIFEST_NAME));
  } catch (e) {
    // another user's image (0700) hides its manifest; a missing one readImage reports
    return (e as NodeJS.ErrnoException).code === 'EACCES' ? dirSt.uid : myUid();
  }
  // a manifest that is a symlink, FIFO or device: a damaged image, which readImage names (exit 7)
  if (!mSt.isFile()) return dirSt.uid;
  if (dirSt.uid !== mSt.uid)
    throw new UserError(`${dir}: the directory (uid ${dirSt.uid}) and its ${MANIFEST_NAME} (uid ${mSt.uid}) disagree on whose image it is`, EXIT.IMAGE_OWNER);
  return dirSt.uid;
}

/**
 * Whose image this is (docs/decisions/0011). An image is a program: it runs with
 * the rights of whoever restores it. So its owner and the uid it records must be
 * the restoring user's; only root may restore another user's, when it asks to
 * (--as-recorded-user), and then as that user, never as root.
 * Returns the uid to become, or undefined to stay as we are.
 */
function checkImageOwner(dir: string, owner: number, manifest: ImageManifest | undefined, asRecordedUser: boolean): number | undefined {
  const me = myUid();
  const recorded = manifest?.domain.uid;
  if (manifest && !isId(recorded)) throw new UserError(`${dir}: bad recorded uid ${JSON.stringify(recorded)}`, EXIT.BAD_IMAGE);
  if (owner === me && (recorded === undefined || recorded === me)) return undefined;
  const whose = owner !== me ? `belongs to uid ${owner}` : `was checkpointed by uid ${recorded}`;
  if (me !== 0) throw new UserError(`${dir}: the image ${whose}, not to you (only root may restore another user's image, as that user)`, EXIT.IMAGE_OWNER);
  if (!asRecordedUser) throw new UserError(`${dir}: the image ${whose}; restore it as that user with --as-recorded-user`, EXIT.IMAGE_OWNER);
  if (recorded === undefined) return undefined;  // checked again once the manifest is read
  // root vouches for an image it owns; another user's image may only name its owner
  if (owner !== 0 && owner !== recorded)
    throw new UserError(`${dir}: the image belongs to uid ${owner} but records uid ${recorded}: refused`, EXIT.IMAGE_OWNER);
  return recorded === 0 ? undefined : recorded;
}

const isId = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) < 0xffffffff;

/** The recorded gid and groups, range-checked; undefined in images older than them. */
function recordedGroups(dir: string, m: ImageManifest): { gid: number; groups: number[] } | undefined {
  const { gid, groups } = m.domain;
  if (gid === undefined && groups === undefined) return undefined;
  if (!isId(gid) || !Array.isArray(groups) || groups.length > 65536 || !groups.every(isId))
    throw new UserError(`${dir}: bad recorded gid or groups`, EXIT.BAD_IMAGE);
  return { gid, groups };
}

const sameGroups = (a: number[], b: number[]) => [...new Set(a)].sort().join() === [...new Set(b)].sort().join();

/** The restoring user's own gid and groups must be the job's: a restore never changes them. */
function checkOwnGroups(dir: string, m: ImageManifest) {
  const want = recordedGroups(dir, m);
  const gid = process.getgid?.() ?? 0;
  const groups = ownGroups();
  if (want && (want.gid !== gid || !sameGroups(want.groups, groups)))
    throw new UserError(`${dir}: the job ran with gid ${want.gid} and groups [${want.groups.join(' ')}]; you have gid ${gid} and groups [${groups.join(' ')}]`, EXIT.IMAGE_OWNER);
}

/**
 * Root becomes the image's user for good, with the gid and groups the image
 * records (each one that user has: its login group or one of the group database),
 * before anything of the image is opened or run: the supervisor, keeper and job are
 * then those of that user's own restore (unprivileged: no_new_privs, a user namespace).
 */
function becomeUser(dir: string, uid: number, m: ImageManifest) {
  let entry: string[];
  try {
    entry = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8' }).trim().split(':');
  } catch {
    throw new UserError(`uid ${uid} has no account here (getent passwd): cannot restore as that user`, EXIT.IMAGE_OWNER);
  }
  const loginGid = Number(entry[3]);
  const ids = process as unknown as { initgroups(user: string, gid: number): void; setgroups(g: number[]): void; setgid(id: number): void; setuid(id: number): void };
  ids.initgroups(entry[0], loginGid);
  const allowed = new Set([loginGid, ...ownGroups()]);
  const want = recordedGroups(dir, m) ?? { gid: loginGid, groups: ownGroups() };
  const foreign = [want.gid, ...want.groups].filter((g) => !allowed.has(g));
  if (foreign.length)
    throw new UserError(`${dir}: the image records group(s) ${[...new Set(foreign)].join(' ')}, which uid ${uid} (${entry[0]}) is not a member of`, EXIT.IMAGE_OWNER);
  ids.setgroups(want.groups);
  ids.setgid(want.gid);
  ids.setuid(uid);
  if (process.getuid?.() !== uid || process.geteuid?.() !== uid) throw new UserError(`could not become uid ${uid}`, EXIT.FAILURE);
  // the state directory is that user's: root's runtime directory is not
  const runtime = `/run/user/${uid}`;
  if (fs.existsSync(runtime) && fs.statSync(runtime).uid === uid) process.env.XDG_RUNTIME_DIR = runtime;
  else delete process.env.XDG_RUNTIME_DIR;
}

async function pickName(manifest: ImageManifest, asked?: string): Promise<string> {
  if (asked) {
    if (!validName(asked)) throw new UserError(`invalid domain name '${asked}' (letters, digits, . _ -; at most 64)`, EXIT.USAGE);
    return asked;
  }
  // the original may still run under its name: then the copy gets its own
  const base = manifest.domain.name;
  // it becomes a file name in the state directory: the rule of --name
  if (typeof base !== 'string' || !validName(base))
    throw new UserError(`bad domain name ${JSON.stringify(base)} in the image (letters, digits, . _ -; at most 64)`, EXIT.BAD_IMAGE);
  if ((await probe(socketPath(base))) !== 'live') return base;
  const alt = `${base.slice(0, 50)}-r${process.pid}`;
  return alt;
}

const CAP_LINES = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'] as const;

/** This process's credentials in the image's form (/proc/self/status, as native/resources/task/dump_task.cc dumpCreds reads a task's). */
export function ownCreds(): CredsImage {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const line = (k: string) => (new RegExp(`^${k}:[ \\t]*(.*)$`, "m").exec(status)?.[1] ?? '').trim();
  const nums = (k: string) => line(k).split(/\s+/).filter(Boolean).map(Number);
  const caps = Object.fromEntries(CAP_LINES.map((k) => [k, line(k)]));
  return { uid: nums('Uid') as CredsImage['uid'], gid: nums('Gid') as CredsImage['gid'], groups: nums('Groups'), ...caps } as CredsImage;
}

/**
 * Without root a restored task can have only the restoring user's credentials
 * (ids, groups, capabilities; the bounding set is its user namespace's, given back
 * there by the blob), and must stay dumpable for the supervisor to
 * trace it and take its listener: what else the image holds is refused here.
 */
export function credentialProblems(proc: ProcessImage, own: CredsImage): string[] {
  const problems: string[] = [];
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  const differs = (c: CredsImage) =>
    !same(c.uid, own.uid) ? `uids ${c.uid.join(' ')}` : !same(c.gid, own.gid) ? `gids ${c.gid.join(' ')}`
      : !same([...c.groups].sort((x, y) => x - y), [...own.groups].sort((x, y) => x - y)) ? `groups ${c.groups.join(' ') || '(none)'}`
        : CAP_LINES.find((k) => k !== 'CapBnd' && BigInt(`0x${c[k]}`) !== BigInt(`0x${own[k]}`));
  for (const [who, c] of [['', proc.creds], ...(proc.threads ?? []).map((t) => [`thread ${t.vtid} `, t.creds])] as [string, CredsImage | undefined][]) {
    const d = c && differs(c);
    if (d) problems.push(`pid ${proc.vpid}: ${who}ran with ${d.startsWith('Cap') ? `${d} ${c![d as keyof CredsImage]}` : d}, not the restoring user's (only root can restore that)`);
  }
  if (proc.dumpable === 0) problems.push(`pid ${proc.vpid}: not dumpable (PR_SET_DUMPABLE 0): only root can restore it`);
  return problems;
}

/** The process as the plan builder takes it: without root the groups stay the user's (its user namespace cannot set them). */
function planInput(proc: ProcessImage, root: boolean): ProcessImage {
  if (root) return proc;
  const keepGroups = <T extends { creds?: CredsImage }>(t: T): T => (t.creds ? { ...t, creds: { ...t.creds, groups: undefined as unknown as number[] } } : t);
  return { ...keepGroups(proc), threads: proc.threads?.map(keepGroups) };
}

// The ptys the job opened that were a session's controlling terminal: its leader
// takes it (after setsid), the first process of its foreground group puts that
// group in the foreground (native/keeper/restore_child.c). validate.ts checked
// that both are processes of the image.
function giveTerminals(shared: SharedFileImage[], processes: NativeRestoredProcess[], groups: number[]) {
  shared.forEach((f, i) => {
    const pair = f.kind === 'pty' && f.pty?.master ? f.pty.pair : undefined;
    if (pair?.session === undefined) return;
    const leader = processes.findIndex((p) => p.vpid === pair.session && p.setsid && !p.zombie);
    if (leader < 0) throw new UserError(`cannot restore: pty ${f.pty!.index} is the terminal of session ${pair.session}, which has no leader`, EXIT.BAD_IMAGE);
    processes[leader].ctty = i;
    const first = pair.foreground ? groups.indexOf(pair.foreground) : -1;
    if (first >= 0) processes[first].ttyForeground = i;
  });
}

export async function restoreImage(opts: RestoreOptions): Promise<number> {
  const startedMs = performance.now();
  const dir = path.resolve(opts.dir);
  const owner = imageOwner(dir);
  checkImageOwner(dir, owner, undefined, !!opts.asRecordedUser);
  const manifest = readImage(dir);
  const becomeUid = checkImageOwner(dir, owner, manifest, !!opts.asRecordedUser);
  if (becomeUid !== undefined) becomeUser(dir, becomeUid, manifest);
  else checkOwnGroups(dir, manifest);
  const zombies = manifest.zombies ?? [];
  const nodes = [...manifest.processes, ...zombies];
  const tids = manifest.processes.flatMap((p) => (p.threads ?? []).map((t) => t.vtid));
  const tree = planTree(nodes, manifest.root ?? manifest.processes[0].vpid, tids);
  if (!tree.ok) throw new UserError(`${dir}: cannot make its process tree: ${tree.problems.join('; ')}`, EXIT.BAD_IMAGE);
  const problems = manifest.processes.flatMap((p) =>
    checkOutsideFiles(p).map((what) => (manifest.processes.length > 1 ? `pid ${p.vpid}: ${what}` : what)),
  );
  for (const f of manifest.shared ?? []) {
    const where = f.kind === 'path' ? f.path : f.fifo;
    if (where && !fs.existsSync(where)) problems.push(`${where} (open in ${f.holders.join(', ')}) no longer exists`);
  }
  const privileged = process.getuid?.() === 0;
  if (!privileged) {
    const own = ownCreds();
    for (const p of manifest.processes) problems.push(...credentialProblems(p, own));
  }
  if (problems.length) throw new UserError(`cannot restore: ${problems.join('; ')}`, EXIT.UNSUPPORTED);
  const missing = missingInheritedFd(manifest.processes);
  if (missing) throw new UserError(missing, EXIT.NO_INHERITED_FD);

  const plans = new Map<number, Buffer>();
  for (const p of manifest.processes) {
    try {
      plans.set(p.vpid, native().buildPlan(planInput(p, privileged)));
    } catch (e) {
      throw new UserError(`${dir}: ${(e as Error).message}`, EXIT.BAD_IMAGE);
    }
  }
  ensureStateDir();
  const name = await pickName(manifest, opts.name);
  const verifiedMs = performance.now();
  const processes: NativeRestoredProcess[] = [];
  const groups: number[] = [];  // each process's virtual group, in `processes`' order
  const indexOfPages = new Map<string, number>();  // page file → its process's index in `processes`
  try {
    for (const step of tree.steps) {
      const common = { parent: step.parent, groupOf: step.groupOf, setsid: step.setsid };
      if (step.from === HELPER) {
        // it makes its orphans and exits once the tree runs: its status is nobody's
        processes.push({ vpid: step.helper!, ...common, zombie: true, status: 0 });
        groups.push(step.helper!);  // (it leads the lost session or group it stands for)
        continue;
      }
      if (step.from >= manifest.processes.length) {
        const z = zombies[step.from - manifest.processes.length];
        processes.push({ vpid: z.vpid, ...common, zombie: true, status: z.status });
        groups.push(z.vpgid);
        continue;
      }
      const p = manifest.processes[step.from];
      indexOfPages.set(p.pagesFile, processes.length);
      groups.push(p.vpgid);
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
  giveTerminals(shared, processes, groups);
  // (a root that had exited, the root of a daemon's orphans, is a zombie: no command line of its own)
  const root = tree.steps[0].from < manifest.processes.length ? manifest.processes[tree.steps[0].from] : undefined;
  const maxVpid = Math.max(...processes.map((p) => p.vpid), ...tids);
  return superviseDomain({
    name,
    command: !root ? manifest.domain.command : root.cmdline.length ? root.cmdline : [root.comm],
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
