// System V IPC on the real kernel path: a producer and a consumer over a keyed
// message queue, a semaphore set and a shared segment removed while attached
// (test/workloads/sysvjob.c), checkpointed mid-run and restored, again and
// again, alone and beside the still-running original, while a stranger holds the
// same key on the host; as root and unprivileged. Each domain has an IPC
// namespace of its own: nothing it makes shows on the host or outlives it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  asUser, checkpoint, compile, isRoot, modeOf, noStrays, randomMs, referenceLine, rewriteManifest, ROOT, runCheckpointRestore, sleep, USERS, vdomain,
  vdomainBackground, workDir,
} from './helpers';
import { native } from '../supervisor/native';

const test = suite('sysv');
const ITEMS = '60000'; // ~4.5 s uninterrupted on this machine
const KEY = '0x00c0ffee'; // the job's queue's key

/** The host's SysV objects, as /proc/sysvipc lists them (every user's). */
function hostObjects(): string {
  return ['msg', 'sem', 'shm']
    .map((k) => fs.readFileSync(`/proc/sysvipc/${k}`, 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' ')).join(';'))
    .join('|');
}

function stranger(uid: number, what: 'create' | 'remove') {
  const argv = asUser(uid, [compile('sysvkey'), what, KEY]);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
}

function sysvOf(uid: number, img: string) {
  const r = vdomain(uid, ['inspect', img, '--json']);
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

for (const { label, uid } of USERS) {
  test(`producer and consumer over a queue, a semaphore set and a removed-but-attached segment, checkpointed twice, end as uninterrupted (${label})`, async () => {
    const job = compile('sysvjob');
    const dir = workDir(uid, 'sysv');
    const ref = referenceLine('sysvjob', [job, ITEMS], dir, uid);
    const [, a, b] = /^sums (\w+) (\w+); queue 8000 bytes at most, mode 640; segment 4608 bytes, mode 600, 1 attached; odd messages ok$/.exec(ref)!;
    assert.is(a, b, 'producer and consumer agree uninterrupted');
    const before = hostObjects();
    const name = `sysv-${uid}`;
    let run = vdomainBackground(uid, ['run', '--name', name, '--', job, ITEMS]);
    await run.waitFor(/^ready$/m);
    for (let i = 1; i <= 2; i++) {
      await sleep(randomMs(700, 1400));
      const img = path.join(dir, `img${i}`);
      checkpoint(uid, name, img, true);
      await run.exited;
      const m = sysvOf(uid, img);
      assert.equal(m.sysv.map((o: { kind: string }) => o.kind), ['shm', 'sem', 'msg', 'msg'], 'the four objects');
      assert.is(m.sysv[0].removed, true, 'the segment was removed while attached');
      assert.is(m.sysv[2].key, KEY);
      for (const p of m.processes) assert.equal(p.sysvAttached, [m.sysv[0].id], `pid ${p.vpid} has the segment attached`);
      run = vdomainBackground(uid, ['restore', img]);
      assert.ok(await modeOf(uid, name), 'restored');
    }
    assert.is(await run.exited, 0, run.stderr);
    assert.is(run.stdout.trim(), ref);
    assert.is(hostObjects(), before, 'nothing of the domain on the host, nothing left behind');
    noStrays();
  });

  test(`restored beside the running original while a stranger holds the same key on the host; --host-ipc shares the host's (${label})`, async () => {
    const job = compile('sysvjob');
    const dir = workDir(uid, 'sysv-beside');
    const ref = referenceLine('sysvjob', [job, ITEMS], dir, uid);
    stranger(uid, 'create');
    try {
      const before = hostObjects();
      const name = `sysv-beside-${uid}`;
      const original = vdomainBackground(uid, ['run', '--name', name, '--', job, ITEMS]);
      await original.waitFor(/^ready$/m);
      await sleep(randomMs(800, 1600));
      const img = path.join(dir, 'img');
      checkpoint(uid, name, img, false);
      const ids = original.stdout.split('\n')[0];
      const copy = vdomainBackground(uid, ['restore', img]);
      assert.is(await copy.exited, 0, copy.stderr);
      assert.is(await original.exited, 0, original.stderr);
      assert.is(copy.stdout.trim(), ref, 'the copy');
      assert.is(original.stdout.trim().split('\n').pop(), ref, 'the original, undisturbed');
      assert.match(ids, /^ids \d+ \d+ \d+$/);
      assert.is(hostObjects(), before, 'the stranger\'s objects only');

      // sharing the host's namespace, the job meets the stranger's queue (IPC_EXCL)
      const shared = vdomain(uid, ['run', '--host-ipc', '--', job, '10']);
      assert.is(shared.status, 1);
      assert.match(shared.stderr, /create: File exists/);
      assert.is(hostObjects(), before, 'the failed job made nothing on the host');
    } finally {
      stranger(uid, 'remove');
    }
    noStrays();
  });
}

for (const { label, uid } of USERS) {
  test(`SEM_UNDO adjustments of three processes (one multithreaded) come back, and the original keeps its own (${label})`, async () => {
    const job = compile('semundo');
    const dir = workDir(uid, 'semundo');
    const ref = referenceLine('semundo', [job, '3'], dir, uid);
    assert.is(ref, 'sems 4 5');
    // beside the running original: its adjustments are read and put back
    const name = `semundo-${uid}`;
    const original = vdomainBackground(uid, ['run', '--name', name, '--', job, '3']);
    await original.waitFor(/^ready$/m);
    await sleep(randomMs(200, 900));
    const img = path.join(dir, 'img');
    checkpoint(uid, name, img, false);
    const adjustments = sysvOf(uid, img);
    assert.equal(adjustments.sysv.map((o: { kind: string }) => o.kind), ['sem']);
    const held = adjustments.processes.map((p: { semUndo: number[][] }) => p.semUndo.map((u) => u[2])).flat().sort();
    assert.equal(held, [-2, 1, 1], 'parent and child A took 1, child B added 2');
    const copy = vdomain(uid, ['restore', img]);
    assert.is(copy.status, 0, copy.stderr);
    assert.is(copy.stdout.trim(), ref, 'the copy: each exit gave back its adjustment');
    assert.is(await original.exited, 0, original.stderr);
    assert.is(original.stdout.trim().split('\n').pop(), ref, 'the original, undisturbed');
    // and with --kill, restored alone
    const again = vdomainBackground(uid, ['run', '--name', name, '--', job, '3']);
    await again.waitFor(/^ready$/m);
    await sleep(randomMs(200, 900));
    checkpoint(uid, name, path.join(dir, 'img2'), true);
    await again.exited;
    const alone = vdomain(uid, ['restore', path.join(dir, 'img2')]);
    assert.is(alone.status, 0, alone.stderr);
    assert.is(alone.stdout.trim(), ref);

    // a multithreaded holder: refused while the job would run on, kept with --kill
    const threaded = vdomainBackground(uid, ['run', '--name', name, '--', job, '3', 'threads']);
    await threaded.waitFor(/^ready$/m);
    await sleep(randomMs(100, 600));
    const refused = vdomain(uid, ['checkpoint', name, '-o', path.join(dir, 'refused')]);
    assert.is(refused.status, 5, refused.stderr);
    assert.match(refused.stderr, /pid \d+ SEM_UNDO adjustments in a multithreaded process — kept only by a checkpoint that ends the job \(--kill\)/);
    checkpoint(uid, name, path.join(dir, 'img3'), true);
    await threaded.exited;
    const held3 = sysvOf(uid, path.join(dir, 'img3')).processes.map((p: { semUndo: number[][] }) => p.semUndo.map((u) => u[2])).flat().sort();
    assert.equal(held3, [-2, 1, 2], 'the threads\' shared adjustment is 2');
    const fromThreads = vdomain(uid, ['restore', path.join(dir, 'img3')]);
    assert.is(fromThreads.status, 0, fromThreads.stderr);
    assert.is(fromThreads.stdout.trim(), ref);
    noStrays();
  });
}

/** An image of the producer/consumer job (checkpointed with --kill), to damage. */
async function imageToDamage(uid: number, tag: string): Promise<string> {
  const name = `sysv-${tag}-${uid}`;
  const run = vdomainBackground(uid, ['run', '--name', name, '--', compile('sysvjob'), ITEMS]);
  await run.waitFor(/^ready$/m);
  await sleep(400);
  const img = path.join(workDir(uid, `sysv-${tag}`), 'img');
  checkpoint(uid, name, img, true);
  await run.exited;
  return img;
}

for (const { label, uid } of USERS) {
  test(`python3 (through ctypes) and a static C job restored mid-run end as uninterrupted runs (${label})`, async () => {
    const dir = workDir(uid, 'sysv-py');
    const script = path.join(dir, 'sysv.py');
    fs.copyFileSync(path.join(ROOT, 'test', 'workloads', 'sysv.py'), script);
    fs.chmodSync(script, 0o644);
    const rounds = '300000'; // ~3 s
    const ref = referenceLine('sysv-py', ['python3', script, rounds], dir, uid);
    assert.match(ref, /^python sysv [0-9a-f]{16}$/);
    const py = await runCheckpointRestore(uid, `sysv-py-${uid}`, ['python3', script, rounds], dir, [700, 1400]);
    assert.is(py.stdout.trim(), ref);

    const job = compile('sysvjob', ['-static']);
    const staticDir = workDir(uid, 'sysv-static');
    const refStatic = referenceLine('sysvjob-static', [job, ITEMS], staticDir, uid);
    const st = await runCheckpointRestore(uid, `sysv-static-${uid}`, [job, ITEMS], staticDir, [700, 1400]);
    assert.is(st.stdout.trim(), refStatic);
    noStrays();
  });
}

for (const { label, uid } of USERS) {
  test(`checkpoints every second leave the running job's result unchanged, and the newest image restores (${label})`, async () => {
    const job = compile('sysvjob');
    const dir = workDir(uid, 'sysv-interval');
    const images = path.join(dir, 'images');
    fs.mkdirSync(images);
    if (isRoot) fs.chownSync(images, uid, uid);
    const ref = referenceLine('sysvjob', [job, ITEMS], dir, uid);
    // each checkpoint reads and re-makes the SEM_UNDO adjustments of the running job
    const r = vdomain(uid, ['run', '--interval', '1', '--keep', '1', '--checkpoint-dir', images, '--', job, ITEMS], { timeoutMs: 60_000 });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim().split('\n').pop(), ref);
    const kept = fs.readdirSync(images);
    assert.is(kept.length, 1, `kept: ${kept}`);
    const again = vdomain(uid, ['restore', path.join(images, kept[0])]);
    assert.is(again.status, 0, again.stderr);
    assert.is(again.stdout.trim(), ref);
    noStrays();
  });
}

for (const { label, uid } of USERS) {
  test(`a damaged sysv.img is refused before any process is made (${label})`, async () => {
    const img = await imageToDamage(uid, 'bad');
    const file = path.join(img, 'sysv.img');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0x40;
    fs.writeFileSync(file, bytes);
    const r = vdomain(uid, ['restore', img]);
    assert.is(r.status, 7, r.stderr);
    assert.match(r.stderr, /sysv\.img: checksum mismatch \(damaged\)/);
    assert.is(r.stderr.trim().split('\n').length, 1, 'one line');
    noStrays();
  });

  test(`a restore that cannot make an object again fails in one line and leaves nothing behind (${label})`, async () => {
    const img = await imageToDamage(uid, 'limit');
    // the semaphore set (the second object) grows past the kernel's SEMMSL (32000)
    const file = path.join(img, 'sysv.img');
    const bytes = fs.readFileSync(file);
    let at = 16;
    while (bytes.readUInt32LE(at) !== 2) at += 48 + Number(bytes.readBigUInt64LE(at + 40));
    const tail = bytes.subarray(at + 48 + Number(bytes.readBigUInt64LE(at + 40)));
    const head = Buffer.from(bytes.subarray(0, at + 48));
    head.writeBigUInt64LE(40000n, at + 24);
    head.writeBigUInt64LE(80000n, at + 40);
    fs.writeFileSync(file, Buffer.concat([head, Buffer.alloc(80000, 1), tail]));
    rewriteManifest(img, (m) => {
      const sem = m.sysv.find((o: { kind: string }) => o.kind === 'sem');
      sem.count = 40000;
      sem.bytes = 80000;
      m.files['sysv.img'] = native().checksumFile(file);
    });
    const before = hostObjects();
    const r = vdomain(uid, ['restore', img]);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot make SysV IPC object 2 of the image again: Invalid argument/);
    assert.is(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.is(hostObjects(), before);
    noStrays();
  });
}

// The namespace's limits are its own: a root job that changes them gets them back
// (shm_rmid_forced too, written once the tree is running), and the host's and a
// fresh domain's stay as they were. (Unprivileged, a job cannot change them.)
if (isRoot)
  test("the IPC namespace's limits a root job changed come back, in that domain only (root only: an unprivileged job cannot change them)", async () => {
    const limits = ['fs/mqueue/msg_max', 'fs/mqueue/msgsize_default', 'kernel/msgmnb', 'kernel/sem', 'kernel/shm_rmid_forced'];
    const paths = limits.map((l) => `/proc/sys/${l}`).join(' ');
    const host = () => limits.map((l) => fs.readFileSync(`/proc/sys/${l}`, 'utf8').trim()).join('|');
    const before = host();
    const dir = workDir(0, 'sysv-limits');
    const job = vdomainBackground(0, ['run', '--name', 'sysv-limits', '--', 'sh', '-c',
      `echo 21 > /proc/sys/fs/mqueue/msg_max; echo 4000 > /proc/sys/fs/mqueue/msgsize_default; echo 32768 > /proc/sys/kernel/msgmnb; ` +
      `echo "250 32000 64 1024" > /proc/sys/kernel/sem; echo 1 > /proc/sys/kernel/shm_rmid_forced; echo ready; read x; cat ${paths} | tr '\\n' ' '`]);
    await job.waitFor(/^ready$/m);
    const img = path.join(dir, 'img');
    checkpoint(0, 'sysv-limits', img, true);
    await job.exited;
    assert.equal(sysvOf(0, img).sysv.map((o: { kind: string }) => o.kind), ['limits'], 'the limits, saved');
    assert.is(host(), before, "the host's limits are untouched");
    const r = vdomain(0, ['restore', img], { input: 'go\n' });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim(), '21 4000 32768 250\t32000\t64\t1024 1');
    // a domain of its own has the defaults, not the restored ones
    const fresh = vdomain(0, ['run', '--', 'sh', '-c', `cat ${paths} | tr '\\n' ' '`]);
    assert.is(fresh.stdout.trim(), '10 8192 16384 32000\t1024000000\t500\t32000 0');
    assert.is(host(), before);
    noStrays();
  });

test.run();
