// File locks across checkpoint and restore (native/resources/locks/dump_locks.cc ↔ set_locks in
// native/restorer/restorer.c): POSIX record locks of a process and its child, OFD
// and flock locks of descriptions shared across a fork (test/workloads/locks.c),
// checked after restore from a process of no lock of its own; a lock another
// process holds at restore time refuses it (exit 13) before any process of the
// job runs; leases are refused at checkpoint; sqlite3 holding an exclusive
// transaction across the checkpoint keeps others out until it commits.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  asUser, checkpoint, compile, isRoot, modeOf, noStrays, rewriteManifest, USERS, vdomain, vdomainBackground,
  vpidBaseAbovePidMax, workDir,
} from './helpers';

const test = suite('file locks');
const PASS = 'checker PASS\nchild PASS\nlocks PASS';
const LOCKED = 13;  // cli/errors.ts EXIT.LOCKED
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Runs the locks workload in a domain until it holds its locks, and checkpoints it. */
async function lockedImage(uid: number, name: string, mode: string[], kill = true) {
  const locks = compile('locks');
  const dir = workDir(uid, name);
  const job = vdomainBackground(uid, ['run', '--name', name, ...mode, '--', locks, dir]);
  await job.waitFor(/ready/);
  const img = path.join(dir, 'img');
  checkpoint(uid, name, img, kill);
  if (kill) await job.exited;
  return { dir, img, job };
}

/** An outsider holding a POSIX write lock on [start, start+len) of file, until killed. */
async function holdLock(file: string, start: number, len: number) {
  const holder = spawn(compile('locks'), ['hold', file, String(start), String(len)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', (d) => (String(d).includes('held') ? resolve() : reject(new Error(String(d)))));
    holder.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
  return {
    async release() {
      const gone = new Promise((r) => holder.once('exit', r));
      holder.kill('SIGKILL');
      await gone;
    },
  };
}

const go = (dir: string) => fs.writeFileSync(path.join(dir, 'go'), '');

for (const { label, uid } of USERS) {
  for (const mode of ['identity', 'remapped']) {
    test(`POSIX ranges of a process and its child, shared OFD and flock locks come back exactly (${mode}, ${label})`, async () => {
      const name = `locks-${mode}-${uid}`;
      const { dir, img } = await lockedImage(uid, name, mode === 'remapped' ? ['--vpid-base', String(vpidBaseAbovePidMax())] : []);
      const r = vdomainBackground(uid, ['restore', img]);
      assert.is(await modeOf(uid, name), isRoot && uid === 0 && mode === 'identity' ? 'identity' : 'remapped');
      go(dir);
      assert.is(await r.exited, 0, r.stderr + r.stdout);
      assert.is(r.stdout.trim(), PASS);
      noStrays();
    });
  }

  test(`a lock another process took meanwhile refuses the restore before any process runs, exit 13; once it is gone the image restores (${label})`, async () => {
    const { dir, img } = await lockedImage(uid, `conflict-${uid}`, []);
    const ins = vdomain(uid, ['inspect', img]);
    assert.match(ins.stdout, /file locks: fd 3 posix write 10\+5, fd 3 posix read 1000\+EOF, fd 4 ofd write 0\+100, fd 4 ofd read 500\+10, fd 5 flock write, fd 6 posix write 4\+4\n/);
    assert.match(ins.stdout, /file locks: fd 3 posix write 200\+10, fd 3 posix read 300\+1, fd \d+ flock read\n/);
    go(dir);
    const outsider = await holdLock(path.join(dir, 'posix'), 205, 1);  // inside the child's write range
    try {
      const r = vdomain(uid, ['restore', img]);
      assert.is(r.status, LOCKED, r.stderr);
      assert.is(r.stdout, '', 'no process of the job ran');
      const lines = r.stderr.trim().split('\n');
      assert.is(lines.length, 1, r.stderr);
      assert.match(lines[0], /^vdomain: restore refused: lock conflict: \S+\/posix bytes 200-209 \(POSIX write lock, fd 3\) \(pid \d+\) is held by another process now$/);
    } finally {
      await outsider.release();
    }
    noStrays();
    const again = vdomain(uid, ['restore', img]);
    assert.is(again.status, 0, again.stderr);
    assert.is(again.stdout.trim(), PASS);
    noStrays();
  });

  test(`a refused restore runs no process, even one whose blob finished long before the one that met the conflict (${label})`, async () => {
    const name = `heavy-${uid}`;
    const dir = workDir(uid, name);
    const job = vdomainBackground(uid, ['run', '--name', name, '--', compile('locks'), 'heavy', dir]);
    await job.waitFor(/ready/);
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;
    go(dir);
    const outsider = await holdLock(path.join(dir, 'heavy'), 0, 1);
    try {
      const r = vdomain(uid, ['restore', path.join(dir, 'img')]);
      assert.is(r.status, LOCKED, r.stderr);
      await new Promise((res) => setTimeout(res, 300));
      assert.not.ok(fs.existsSync(path.join(dir, 'ran')), 'the parent ran after its own blob was done');
      assert.is(r.stdout, '');
    } finally {
      await outsider.release();
    }
    noStrays();
  });

  test(`restored beside the running original, which holds the locks: refused, exit 13; the original runs on (${label})`, async () => {
    const { dir, img, job } = await lockedImage(uid, `beside-${uid}`, [], false);
    const r = vdomain(uid, ['restore', img, '--name', `beside-copy-${uid}`]);
    assert.is(r.status, LOCKED, r.stderr);
    assert.match(r.stderr, /lock conflict: \S+\/(posix|ofd|flock|flock2)\b/);
    go(dir);
    assert.is(await job.exited, 0, job.stderr);
    assert.is(job.stdout.trim(), `ready\n${PASS}`);
    noStrays();
  });

  test(`a lease is refused at checkpoint (exit 5, naming pid and fd), the job runs on with it (${label})`, async () => {
    const locks = compile('locks');
    const dir = workDir(uid, 'lease');
    const name = `lease-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', locks, 'lease', dir]);
    await job.waitFor(/ready/);
    const r = vdomain(uid, ['checkpoint', name, '-o', path.join(dir, 'img'), '--kill']);
    assert.is(r.status, 5, r.stderr);
    assert.match(r.stderr, /pid \d+ fd 3 \(\S+\/leased\): a lease — not supported/);
    assert.not.ok(fs.existsSync(path.join(dir, 'img')), 'no image written');
    go(dir);
    assert.is(await job.exited, 0, job.stderr);
    assert.is(job.stdout.trim(), 'ready\nlease PASS');
    noStrays();
  });

  test(`sqlite3 holding an exclusive transaction across the checkpoint keeps other readers out until it commits (${label})`, async () => {
    const dir = workDir(uid, 'sqlite');
    const db = path.join(dir, 'data.db');
    const script = path.join(dir, 'hold.py');
    fs.writeFileSync(script, [
      'import os, sqlite3, sys, time',
      'db = sqlite3.connect(sys.argv[1], isolation_level=None)',
      'db.execute("create table if not exists t (x)")',
      'db.execute("begin exclusive")',
      'db.execute("insert into t values (42)")',
      'print("ready", flush=True)',
      'while not os.path.exists(sys.argv[2]): time.sleep(0.02)',
      'db.execute("commit")',
      'print("committed", flush=True)',
    ].join('\n'));
    fs.chmodSync(script, 0o644);
    const name = `sqlite-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', PYTHON, script, db, path.join(dir, 'go')]);
    await job.waitFor(/ready/);
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;
    const read = () => {
      const argv = asUser(uid, [PYTHON, '-c', 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=0).execute("select count(*) from t").fetchone()[0])', db]);
      return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
    };
    const r = vdomainBackground(uid, ['restore', path.join(dir, 'img')]);
    assert.ok(await modeOf(uid, name), 'restored');
    const during = read();
    assert.match(during.stderr, /database is locked/, `another reader is kept out: ${during.stdout}`);
    go(dir);
    assert.is(await r.exited, 0, r.stderr);
    assert.is(r.stdout.trim(), 'committed');
    assert.is(read().stdout.trim(), '1', 'the transaction committed');
    noStrays();
  });
}

test('the test can fail: an image with its locks taken out restores without them, and the workload says so', async () => {
  const { uid } = USERS[0];
  const { dir, img } = await lockedImage(uid, `nolocks-${uid}`, []);
  rewriteManifest(img, (m) => m.processes.forEach((p: { locks?: unknown }) => delete p.locks));
  go(dir);
  const r = vdomain(uid, ['restore', img]);
  assert.match(r.stdout, /checker CHANGED:\n.*parent-W:-/);
  assert.match(r.stdout, /locks CHANGED/);
  noStrays();
});

test('an image whose lock range does not fit off_t is refused as damaged (exit 7), nothing started', async () => {
  const { uid } = USERS[0];
  const { dir, img } = await lockedImage(uid, `badlock-${uid}`, []);
  go(dir);
  for (const bad of [{ start: '9223372036854775807', len: '2' }, { start: '-1' }, { kind: 'lease' }, { fd: 99 }]) {
    rewriteManifest(img, (m) => Object.assign(m.processes[0].locks[0], bad));
    const r = vdomain(uid, ['restore', img]);
    assert.is(r.status, 7, `${JSON.stringify(bad)}: ${r.stderr}`);
    assert.match(r.stderr, /manifest: a lock|manifest: unknown lock kind|damaged \(manifest\.processes\[0\]\.locks\[0\]/, r.stderr);
    assert.is(r.stdout, '');
    rewriteManifest(img, (m) => Object.assign(m.processes[0].locks[0], { fd: 3, kind: 'posix', start: '10', len: '5' }));
  }
  noStrays();
});

test.run();
