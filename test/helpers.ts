// Shared by the kernel-path tests: compile C workloads, run the vdomain CLI as
// root or as an unprivileged user, and find stray processes.
import { spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { encodeManifest } from '../supervisor/image';

export const ROOT = path.resolve(__dirname, '..', '..');
export const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

// World-readable so the unprivileged user can run what we compile.
export const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'vdomain-test-'));
fs.chmodSync(WORK, 0o755);
process.on('exit', () => fs.rmSync(WORK, { recursive: true, force: true }));

/**
 * The installed tree the unprivileged user runs. A checkout under a private
 * directory (/root/...) is not readable by nobody: then run a world-readable copy
 * of what `npm ci` produced.
 */
function installedTree(): string {
  if (!isRoot) return ROOT;
  const probe = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--',
    'test', '-r', path.join(ROOT, 'dist', 'cli', 'vdomain.js'), '-a', '-x', path.join(ROOT, 'build', 'Release', 'vdomain-keeper')]);
  if (probe.status === 0) return ROOT;
  const copy = path.join(WORK, 'install');
  for (const part of ['package.json', 'dist', 'build/Release', 'node_modules'])
    fs.cpSync(path.join(ROOT, part), path.join(copy, part), { recursive: true });
  return copy;
}
const TREE = installedTree();
export const CLI = path.join(TREE, 'dist', 'cli', 'vdomain.js');

const compiled = new Map<string, string>();
export function compile(name: string, extra: string[] = []): string {
  const key = name + extra.join(' ');
  const have = compiled.get(key);
  if (have) return have;
  // a workload of test/workloads by name, or any C file of the repository by path
  const out = path.join(WORK, path.basename(name) + (extra.includes('-static') ? '-static' : ''));
  const src = name.includes('/') ? path.join(ROOT, `${name}.c`) : path.join(ROOT, 'test', 'workloads', `${name}.c`);
  const r = spawnSync('cc', ['-O1', '-Wall', '-pthread', '-o', out, src, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc ${name}: ${r.stderr}`);
  compiled.set(key, out);
  return out;
}

/** The users each kernel test runs as: root and nobody when we are root. */
export const USERS: { label: string; uid: number }[] = isRoot
  ? [{ label: 'root', uid: 0 }, { label: 'unprivileged', uid: NOBODY }]
  : [{ label: 'unprivileged', uid: process.getuid!() }];

/** argv that runs `argv` as `uid` (setpriv when we are root and uid ≠ 0). */
export function asUser(uid: number, argv: string[]): string[] {
  if (!isRoot || uid === 0) return argv;
  return ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv];
}

export function stateDirFor(uid: number) {
  return path.join(WORK, `state-${uid}`);
}

function env(uid: number) {
  const dir = stateDirFor(uid);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isRoot) fs.chownSync(dir, uid, uid);
  return { ...process.env, VDOMAIN_DIR: dir, HOME: uid === 0 ? process.env.HOME : '/nonexistent' };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `vdomain ARGS` as `uid`, to completion; wrap: a command to run it through (test/ptyrun.py). */
export function vdomain(uid: number, args: string[], opts: { input?: string; timeoutMs?: number; wrap?: string[] } = {}): Run {
  const argv = asUser(uid, [...(opts.wrap ?? []), process.execPath, CLI, ...args]);
  const r: SpawnSyncReturns<string> = spawnSync(argv[0], argv.slice(1), {
    input: opts.input ?? '',
    encoding: 'utf8',
    env: env(uid),
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `vdomain ARGS` as `uid`, in the background; resolves when a stdout line matches. */
export function vdomainBackground(uid: number, args: string[], opts: { wrap?: string[] } = {}) {
  const argv = asUser(uid, [...(opts.wrap ?? []), process.execPath, CLI, ...args]);
  const child = spawn(argv[0], argv.slice(1), { env: env(uid), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    exited,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    async waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
      const t0 = Date.now();
      for (;;) {
        const m = re.exec(stdout);
        if (m) return m;
        if (Date.now() - t0 > timeoutMs) throw new Error(`timeout waiting for ${re}; stdout: ${stdout}; stderr: ${stderr}`);
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ${re}; stdout: ${stdout}; stderr: ${stderr}`);
        await sleep(20);
      }
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function listJson(uid: number): any[] {
  const r = vdomain(uid, ['list', '--json']);
  if (r.status !== 0) throw new Error(`list failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Is a process alive (and not a zombie)? */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Processes whose command line contains `needle` (stray keepers, jobs). */
export function processesMatching(needle: string): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try {
      return fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle) && alive(Number(e));
    } catch {
      return false;
    }
  }).map(Number);
}

export async function until(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (cond()) return true;
    await sleep(25);
  }
  return cond();
}

/** A virtual PID base no real PID can reach on this machine. */
export function vpidBaseAbovePidMax(): number {
  const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  return Math.min(pidMax + 1000, 4_000_000);
}

// ---- checkpoint and restore ------------------------------------------------------

/** A directory the user may write images into. */
export function workDir(uid: number, name: string): string {
  const d = path.join(WORK, `${name}-${uid}-${Math.random().toString(36).slice(2, 8)}`);
  fs.mkdirSync(d, { mode: 0o755 });
  if (isRoot) fs.chownSync(d, uid, uid);
  return d;
}

const reference = new Map<string, string>();
/** The uninterrupted result line of a workload (run directly, no vdomain). */
export function referenceLine(key: string, argv: string[], cwd: string, uid: number): string {
  const have = reference.get(`${key}/${uid}`);
  if (have) return have;
  const as = isRoot && uid !== 0 ? { uid, gid: uid } : {};
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd, timeout: 60_000, ...as });
  assert.is(r.status, 0, r.stderr);
  const line = r.stdout.trim().split('\n').pop()!;
  reference.set(`${key}/${uid}`, line);
  return line;
}

/** Edits an image's manifest and signs it again, as a damaged-but-consistent image. */
export function rewriteManifest(dir: string, edit: (m: any) => void) {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')).manifest;
  edit(m);
  fs.writeFileSync(file, encodeManifest(m));
}

export const randomMs = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

export function noStrays() {
  const strays = processesMatching(WORK);
  assert.equal(strays, [], `stray processes: ${strays}`);
}

export function checkpoint(uid: number, name: string, out: string, kill: boolean) {
  const r = vdomain(uid, ['checkpoint', name, '-o', out, ...(kill ? ['--kill'] : [])], { timeoutMs: 60_000 });
  assert.is(r.status, 0, `checkpoint ${name}: ${r.stderr}`);
  assert.is(r.stdout.trim(), out);
  return r;
}

export async function modeOf(uid: number, name: string): Promise<string | undefined> {
  let mode: string | undefined;
  await until(() => {
    mode = listJson(uid).find((d) => d.name === name)?.mode;
    return mode !== undefined;
  }, 5000);
  return mode;
}

/**
 * Runs argv in a domain, checkpoints it with --kill after a random pause in
 * [pause[0], pause[1]) ms, and restores the image in the foreground.
 */
export async function runCheckpointRestore(uid: number, name: string, argv: string[], dir: string, pause: [number, number]) {
  const job = vdomainBackground(uid, ['run', '--name', name, '--', ...argv]);
  assert.ok(await modeOf(uid, name), 'the domain is up');
  await sleep(randomMs(pause[0], pause[1]));
  checkpoint(uid, name, path.join(dir, 'img'), true);
  assert.is(await job.exited, 75, `run ended by checkpoint --kill: ${job.stderr}`);  // EXIT.CHECKPOINTED
  const r = vdomain(uid, ['restore', path.join(dir, 'img')]);
  assert.is(r.status, 0, r.stderr);
  return r;
}

/**
 * Runs argv in a domain and checkpoints it with --kill `times` times, after a
 * random pause in [pause[0], pause[1]) ms each, every image restored in the
 * background (an identity restore as root, remapped otherwise) and checkpointed
 * again, the last one restored in the foreground: its last output line is
 * returned. onImage sees each image before it is restored.
 */
export async function checkpointAgainAndAgain(
  uid: number, name: string, argv: string[], dir: string, times: number, pause: [number, number],
  onImage: (img: string, i: number) => void = () => {},
) {
  let job = vdomainBackground(uid, ['run', '--name', name, '--', ...argv]);
  assert.ok(await modeOf(uid, name), 'the domain is up');
  for (let i = 1; i <= times; i++) {
    await sleep(randomMs(pause[0], pause[1]));
    assert.is(job.child.exitCode, null, `the job ended before checkpoint ${i}: ${job.stdout} ${job.stderr}`);
    const img = path.join(dir, `img${i}`);
    checkpoint(uid, name, img, true);
    await job.exited;
    onImage(img, i);
    if (i === times) {
      const r = vdomain(uid, ['restore', img], { timeoutMs: 120_000 });
      assert.is(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').pop() ?? '';
    }
    job = vdomainBackground(uid, ['restore', img]);
    assert.is(await modeOf(uid, name), isRoot && uid === 0 ? 'identity' : 'remapped');
  }
  throw new Error('unreachable');
}

/**
 * Root only: holds `pid` in another process (clone3 set_tid) while `img` is
 * restored; the identity restore must give way to a remapped one that ends with
 * the line `ref`.
 */
export async function restoreWithPidTaken(img: string, name: string, pid: number, ref: string) {
  const held = spawnSync(compile('holdpid'), [String(pid), '30'], { encoding: 'utf8' });
  assert.is(held.stdout.trim(), `held ${pid}`, held.stderr);
  try {
    const r = vdomainBackground(0, ['restore', img]);
    assert.is(await modeOf(0, name), 'remapped');
    assert.is(await r.exited, 0, r.stderr);
    assert.is(r.stdout.trim(), ref);
  } finally {
    process.kill(pid, 'SIGKILL');
  }
  await until(() => !alive(pid), 5000);
}

/**
 * `vdomain ARGS` as `uid`, in the background, started by `sh -c SHELL` run as
 * the caller: SHELL runs "$@" (the vdomain command) with redirections the caller
 * makes, e.g. '"$@" 3>&1 1>&2 | cat' gives it fd 3, a pipe of root's when we are
 * root. stdin gets `input` and is closed (without input: left open).
 */
export function vdomainThroughShell(uid: number, shell: string, args: string[], input?: string) {
  const child = spawn('sh', ['-c', shell, 'sh', ...asUser(uid, [process.execPath, CLI, ...args])], {
    env: env(uid),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  if (input !== undefined) child.stdin.end(input);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    exited,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
  };
}
