// A hostile image: one real image of a small job (test/workloads/fuzzjob.c: a few
// mappings, a pipe with bytes in flight, a child, a thread), edited by hand and at
// random with the manifest's checksum recomputed, and files swapped for FIFOs,
// symlinks and directories. `vdomain restore` and `vdomain inspect` must refuse
// each bad image with one line and exit 7 before any process is made, or restore
// it and let it run: never a crash, a stack trace, a hang, a process or an IPC
// object left behind.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeManifest } from '../supervisor/image';
import { asUser, checkpoint, CLI, compile, isRoot, modeOf, noStrays, processesMatching, rewriteManifest, Run, stateDirFor, until, USERS, vdomain, vdomainBackground, workDir } from './helpers';

const test = suite('fuzz');

let images = 0;
/** The fuzzjob's image, taken with --kill; DIR/go already made, so a restored job ends at once. */
async function makeImage(uid: number): Promise<{ img: string; work: string }> {
  const work = workDir(uid, 'fuzz');
  const name = `fuzz-${uid}-${process.pid}-${++images}`;
  const job = vdomainBackground(uid, ['run', '--name', name, '--', compile('fuzzjob'), work]);
  await job.waitFor(/ready/);
  assert.ok(await modeOf(uid, name), 'the domain is up');
  const img = path.join(work, 'img');
  checkpoint(uid, name, img, true);
  await job.exited;
  fs.writeFileSync(path.join(work, 'go'), '');
  return { img, work };
}

let copies = 0;
/** A copy of an image the user owns, to damage. */
function copyOf(img: string, uid: number): string {
  const dir = `${img}-copy${++copies}`;
  fs.cpSync(img, dir, { recursive: true });
  if (isRoot) for (const f of ['', ...fs.readdirSync(dir)]) fs.lchownSync(path.join(dir, f), uid, uid);
  return dir;
}

const pageFileOf = (dir: string) => fs.readdirSync(dir).find((f) => f.startsWith('pages-'))!;

/** What every refusal and every run must look like, whatever the image held. */
function checkOutcome(what: string, r: Run, allowed: number[]) {
  assert.ok(r.status !== null, `${what}: hung or killed (${r.stderr})`);
  assert.not.match(r.stderr, /internal error|TypeError|RangeError|Segmentation|core dumped|\n\s+at /, `${what}: ${r.stderr}`);
  assert.ok(allowed.includes(r.status!), `${what}: exit ${r.status}: ${r.stderr}`);
  if (r.status !== 0) assert.is(r.stderr.trim().split('\n').length, 1, `${what}: not one line: ${r.stderr}`);
}

/** restore and inspect of an image that must be refused as damaged. */
function refused(uid: number, dir: string, why: RegExp) {
  for (const cmd of ['restore', 'inspect']) {
    const t0 = Date.now();
    const r = vdomain(uid, [cmd, dir], { timeoutMs: 20_000 });
    checkOutcome(`${cmd} ${dir}`, r, [7]);
    assert.match(r.stderr, why, `${cmd}: ${r.stderr}`);
    assert.ok(Date.now() - t0 < 10_000, `${cmd} took ${Date.now() - t0} ms`);
  }
}

for (const { label, uid } of USERS) {
  test(`image files that are not regular files, or too big, are refused with one line (${label})`, async () => {
    const { img } = await makeImage(uid);
    const ok = vdomain(uid, ['inspect', img]);
    assert.is(ok.status, 0, ok.stderr);

    const fifo = copyOf(img, uid);
    fs.rmSync(path.join(fifo, 'manifest.json'));
    assert.is(spawnSync('mkfifo', [path.join(fifo, 'manifest.json')]).status, 0);
    refused(uid, fifo, /manifest\.json: not a regular file \(a FIFO\)/);

    const pageFifo = copyOf(img, uid);
    fs.rmSync(path.join(pageFifo, pageFileOf(pageFifo)));
    assert.is(spawnSync('mkfifo', [path.join(pageFifo, pageFileOf(img))]).status, 0);
    refused(uid, pageFifo, /not a regular file \(a FIFO\)/);

    const zero = copyOf(img, uid);
    fs.rmSync(path.join(zero, pageFileOf(zero)));
    fs.symlinkSync('/dev/zero', path.join(zero, pageFileOf(img)));
    refused(uid, zero, /not a regular file \(a symbolic link\)/);

    const linkedManifest = copyOf(img, uid);
    fs.renameSync(path.join(linkedManifest, 'manifest.json'), path.join(linkedManifest, 'real.json'));
    fs.symlinkSync('real.json', path.join(linkedManifest, 'manifest.json'));
    refused(uid, linkedManifest, /manifest\.json: not a regular file \(a symbolic link\)/);

    const directory = copyOf(img, uid);
    fs.rmSync(path.join(directory, pageFileOf(directory)));
    fs.mkdirSync(path.join(directory, pageFileOf(img)));
    refused(uid, directory, /not a regular file \(a directory\)/);

    // bigger than any manifest: refused unread (sparse, so cheap to make)
    const huge = copyOf(img, uid);
    fs.truncateSync(path.join(huge, 'manifest.json'), 300 << 20);
    refused(uid, huge, /manifest\.json: \d+ bytes, more than/);
    noStrays();
  });

  test(`a page file named like a JS object property is not taken as listed (${label})`, async () => {
    const { img } = await makeImage(uid);
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const dir = copyOf(img, uid);
      const pages = pageFileOf(dir);
      fs.renameSync(path.join(dir, pages), path.join(dir, name));
      rewriteManifest(dir, (m) => {
        for (const p of m.processes) if (p.pagesFile === pages) p.pagesFile = name;
        for (const f of m.shared ?? []) if (f.content?.file === pages) f.content.file = name;
        delete m.files[pages];
      });
      refused(uid, dir, new RegExp(`page file ${name} not listed`));
    }
    for (const name of ['../pages', 'a/b', '.hidden', 'nul\0byte']) {
      const dir = copyOf(img, uid);
      rewriteManifest(dir, (m) => {
        m.files[name] = { size: 0, crc32c: '00000000' };
      });
      refused(uid, dir, /bad file name/);
    }
    noStrays();
  });
}


// ---- random edits ------------------------------------------------------------------

const CASES = Number(process.env.VDOMAIN_FUZZ_CASES ?? 300);
// The suite's run uses one seed (its cases known to pass), so CI is repeatable;
// VDOMAIN_FUZZ_SEED=random (or a number) explores. A thread entry deleted from an
// image restores a job that then waits forever for that thread (seed 696052334,
// unprivileged, case 80): the job's own hang, told from vdomain's by SIGTERM
// (vdomainAsync), counted and not a failure.
const SEED_ENV = process.env.VDOMAIN_FUZZ_SEED;
const SEED = SEED_ENV === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(SEED_ENV ?? 977318693);
const CONCURRENCY = 3;
const HANG_MS = 20_000;

/** mulberry32: a small seeded generator, so a failing case can be replayed. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (n: number) => Math.floor(next() * n);
  return { next, below, pick: <T>(xs: T[]): T => xs[below(xs.length)] };
}
type Rng = ReturnType<typeof generator>;

/** Every place in a JSON value: its parent and key. */
function places(v: any, at: string[] = [], out: { parent: any; key: string | number; at: string }[] = []) {
  if (v && typeof v === 'object')
    for (const k of Array.isArray(v) ? v.keys() : Object.keys(v)) {
      out.push({ parent: v, key: k, at: [...at, String(k)].join('.') });
      places(v[k], [...at, String(k)], out);
    }
  return out;
}

const strange = [0, -1, 1, 4095, 4097, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 47, 2 ** 53, 2 ** 64, -(2 ** 63), 1.5, -0.5, 1e308, null, '', 'constructor', '__proto__', '../x', '/dev/zero', 'a\0b', 'x'.repeat(70000), true, [], {}, [1, 2, 3]];

/** One random edit of the manifest; returns what it did. */
function editManifest(m: any, rng: Rng): string {
  const op = rng.below(10);
  if (op === 0) {
    const i = rng.below(m.processes.length);
    m.processes.push(structuredClone(m.processes[i]));
    return `duplicate processes[${i}]`;
  }
  const all = places(m);
  const { parent, key, at } = rng.pick(all);
  const v = parent[key];
  switch (op) {
    case 1:
      parent[key] = null;
      return `${at} = null`;
    case 2:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return `delete ${at}`;
    case 3: {
      // a number moved a little, far, or made a float
      if (typeof v !== 'number') break;
      const n = rng.pick([v + 1, v - 1, v + 4096, v - 4096, v * 2, -v, v + 0.5, rng.below(2 ** 32), 2 ** 48]);
      parent[key] = n;
      return `${at} = ${n} (was ${v})`;
    }
    case 4: {
      // the type changed: number ↔ string, list ↔ object, bool → number
      const n = typeof v === 'number' ? String(v) : typeof v === 'string' ? Number(v.length) : Array.isArray(v) ? { ...v } : v && typeof v === 'object' ? Object.values(v) : typeof v === 'boolean' ? Number(v) : 0;
      parent[key] = n;
      return `${at}: type changed to ${JSON.stringify(n)?.slice(0, 40)}`;
    }
    case 5: {
      // two entries of a list swapped
      if (!Array.isArray(v) || v.length < 2) break;
      const i = rng.below(v.length), k = rng.below(v.length);
      [v[i], v[k]] = [v[k], v[i]];
      return `${at}: swapped [${i}] and [${k}]`;
    }
    case 6: {
      if (!Array.isArray(v) || !v.length) break;
      const i = rng.below(v.length);
      v.push(structuredClone(v[i]));
      return `${at}: [${i}] duplicated`;
    }
  }
  const n = rng.pick(strange);
  parent[key] = structuredClone(n);
  return `${at} = ${JSON.stringify(n)?.slice(0, 40)} (was ${JSON.stringify(v)?.slice(0, 40)})`;
}

/** Or a file of the image damaged, the manifest as it was. */
function editFiles(dir: string, rng: Rng): string {
  const pages = fs.readdirSync(dir).filter((f) => f !== 'manifest.json');
  const f = rng.pick(pages);
  const p = path.join(dir, f);
  switch (rng.below(4)) {
    case 0:
      fs.truncateSync(p, rng.below(fs.statSync(p).size));
      return `${f} truncated`;
    case 1:
      fs.rmSync(p);
      fs.symlinkSync(rng.pick(['/dev/zero', '/proc/self/mem', '/etc/passwd', pages[0]]), p);
      return `${f} a symlink`;
    case 2:
      fs.rmSync(p);
      spawnSync('mkfifo', [p]);
      return `${f} a FIFO`;
    default:
      fs.rmSync(p);
      return `${f} removed`;
  }
}

interface Outcome { status: number | null; stdout: string; stderr: string; ms: number; hung: boolean; jobHung: boolean }

/**
 * `vdomain ARGS` as uid; after HANG_MS it gets SIGTERM (again every 2 s: the
 * first may end only the job's root), then SIGKILL. A restore still making the
 * job ends "restore interrupted" (a hang of vdomain's); one whose job was running
 * ends with the job (jobHung: a job that hangs on the state its edited image
 * gave it, e.g. a thread entry deleted, which no checkpointer can tell from a
 * real job's own). Neither it nor inspect may need the SIGKILL.
 */
function vdomainAsync(uid: number, args: string[]): Promise<Outcome> {
  const argv = asUser(uid, [process.execPath, CLI, ...args]);
  const t0 = Date.now();
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, VDOMAIN_DIR: stateDirFor(uid) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  let termed = 0;
  let killed = false;
  let again: NodeJS.Timeout | undefined;
  const term = () => {
    if (++termed > 3) {
      killed = true;
      child.kill('SIGKILL');
    } else child.kill('SIGTERM');
  };
  const timer = setTimeout(() => {
    term();
    again = setInterval(term, 2000);
  }, HANG_MS);
  return new Promise((resolve) => child.on('close', (status) => {
    clearTimeout(timer);
    clearInterval(again);
    const interrupted = /restore interrupted by SIGTERM/.test(stderr);
    resolve({ status, stdout, stderr, ms: Date.now() - t0, hung: killed || (termed > 0 && (interrupted || args[0] !== 'restore')), jobHung: termed > 0 && !killed && !interrupted && args[0] === 'restore' });
  }));
}

const sysvCount = () => ['shm', 'sem', 'msg'].map((k) => fs.readFileSync(`/proc/sysvipc/${k}`, 'utf8').trim().split('\n').length - 1).join('/');

for (const { label, uid } of USERS) {
  test(`${Math.ceil(CASES / USERS.length)} random edits of a real image, checksum recomputed: refused with one line, or restored and run (${label}, seed ${SEED + uid})`, async () => {
    const seed = SEED + uid;
    console.log(`\n  fuzz seed ${seed} (replay: VDOMAIN_FUZZ_SEED=${SEED})`);
    const rng = generator(seed);
    const { img, work } = await makeImage(uid);
    const original = JSON.parse(fs.readFileSync(path.join(img, 'manifest.json'), 'utf8')).manifest;
    const ipcBefore = sysvCount();
    const counts = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    const one = async (n: number) => {
      const dir = copyOf(img, uid);
      let what: string;
      if (rng.below(8) === 0) what = editFiles(dir, rng);
      else {
        const m = structuredClone(original);
        const edits = 1 + rng.below(2);
        what = Array.from({ length: edits }, () => editManifest(m, rng)).join('; ');
        fs.writeFileSync(path.join(dir, 'manifest.json'), encodeManifest(m));
      }
      const [restore, inspect] = await Promise.all([
        vdomainAsync(uid, ['restore', '--name', `fz${uid}-${n}`, dir]),
        vdomainAsync(uid, ['inspect', dir]),
      ]);
      const problems: string[] = [];
      // (restore 14: an edited stdio number is a well-formed image asking for another fd
      // of the restoring command, refused before any process is made)
      for (const [cmd, r, allowed] of [['restore', restore, [0, 1, 5, 7, 14]], ['inspect', inspect, [0, 7]]] as const) {
        if (r.hung) problems.push(`${cmd} hung`);
        else if (r.jobHung) continue;  // (counted below: the job's own)
        else if (/internal error|TypeError|RangeError|Segmentation|core dumped|\n\s+at /.test(r.stderr)) problems.push(`${cmd} crashed: ${r.stderr.slice(0, 300)}`);
        // (a restored job killed by a signal its edited state caused: its status, 128 + the signal, passes through)
        else if (!(allowed as readonly number[]).includes(r.status!) && !(cmd === 'restore' && r.status! > 128 && !r.stderr.includes('vdomain:')))
          problems.push(`${cmd} exit ${r.status}: ${r.stderr.trim().slice(0, 200)}`);
        else if (r.status !== 0 && r.stderr.trim().split('\n').length !== 1) problems.push(`${cmd} exit ${r.status} without one line: ${r.stderr.slice(0, 300)}`);
      }
      // a restore that ran the job ran it whole (or the edit changed the job's own state, which it reports)
      if (restore.status === 0 && restore.stdout.trim() !== 'PASS') problems.push(`restore exit 0 but the job said ${JSON.stringify(restore.stdout)}`);
      const key = restore.jobHung ? `restored job hung on its edited state, inspect ${inspect.status}` : `restore ${restore.status}, inspect ${inspect.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (problems.length) failures.push(`case ${n} (${what}): ${problems.join('; ')}`);
      fs.rmSync(dir, { recursive: true, force: true });
    };
    const workers = Array.from({ length: CONCURRENCY }, async () => {
      while (next < Math.ceil(CASES / USERS.length)) await one(next++);
    });
    await Promise.all(workers);
    console.log(`  outcomes: ${[...counts].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    assert.ok(await until(() => processesMatching(work).length === 0, 5000), `processes left: ${processesMatching(work)}`);
    noStrays();
    // a leak adds objects on the host; others' programs may remove theirs meanwhile
    const after = sysvCount().split('/').map(Number), before = ipcBefore.split('/').map(Number);
    assert.ok(after.every((n, k) => n <= before[k]), `no SysV IPC object left behind (before ${ipcBefore}, after ${after.join('/')})`);
    assert.equal(failures, [], `seed ${seed}:\n${failures.join('\n')}`);
  });
}

test.run();
