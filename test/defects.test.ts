// Defects found by using vdomain as people do (issue 20): each test failed before
// its fix. Terminals (SIGWINCH, settings of a terminal the user cannot reopen),
// the exit status of a job ended by checkpoint --kill, `list` of a remapped
// restore and beside a hung supervisor, a job that daemonises.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkpoint, compile, isRoot, ROOT, listJson, modeOf, noStrays, stateDirFor, until, USERS, vdomain, vdomainBackground, vpidBaseAbovePidMax, workDir,
} from './helpers';
import { spawnSync } from 'node:child_process';

const test = suite('defects');
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** argv prefix: on a new terminal of that size (test/ptyrun.py) */
const onPty = (size: string) => ['env', `PTY_SIZE=${size}`, PYTHON, path.join(ROOT, 'test', 'ptyrun.py')];

for (const { label, uid } of USERS) {
  for (const [from, to] of [['30x100', '25x90'], ['30x100', '30x100']]) {
    test(`a program started directly by run, raw on a ${from} terminal, restored onto a ${to} one gets one SIGWINCH and its settings (${label})`, async () => {
      const job = compile('winchjob');
      const dir = workDir(uid, 'winch');
      const name = `winch-${uid}`;
      const run = vdomainBackground(uid, ['run', '--name', name, '--', job], { wrap: onPty(from) });
      await run.waitFor(/ready/);
      checkpoint(uid, name, path.join(dir, 'img'), true);
      await run.exited;
      const r = vdomain(uid, ['restore', path.join(dir, 'img')], { wrap: onPty(to) });
      assert.is(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stdout, `winch termios=ok size=${to} winch=1`);
      noStrays();
    });
  }
}

for (const { label, uid } of USERS)
  for (const kill of [true, false])
    test(`a poll, a nanosleep and a sleep until an absolute time go on across a checkpoint (${kill ? 'restored' : 'the original, checkpointed'}), not EINTR (${label})`, async () => {
      const dir = workDir(uid, 'waiters');
      const name = `waiters-${uid}`;
      const run = vdomainBackground(uid, ['run', '--name', name, '--', compile('waiters')]);
      await run.waitFor(/ready/);
      checkpoint(uid, name, path.join(dir, 'img'), kill);
      if (kill) {
        await run.exited;
        const r = vdomain(uid, ['restore', path.join(dir, 'img')], { input: 'go\n' });
        assert.is(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, 'waiters PASS');
      } else {
        run.child.stdin.end('go\n');
        assert.is(await run.exited, 0, run.stdout + run.stderr);
        assert.match(run.stdout, 'waiters PASS');
      }
      noStrays();
    });

for (const { label, uid } of USERS) {
  test(`a restore beside the original that holds its named FIFO full is refused at once with one line, and leaves the FIFO as it was (${label})`, async () => {
    const job = compile('fifofull');
    const dir = workDir(uid, 'fifofull');
    const name = `fifofull-${uid}`;
    const run = vdomainBackground(uid, ['run', '--name', name, '--', job, dir]);
    const [, bytes] = await run.waitFor(/ready (\d+)/);
    checkpoint(uid, name, path.join(dir, 'img'), false);
    const t0 = Date.now();
    const r = vdomain(uid, ['restore', path.join(dir, 'img')], { timeoutMs: 20_000 });
    assert.ok(Date.now() - t0 < 15_000, 'the restore ended');
    assert.is.not(r.status, 0, r.stdout);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /named FIFO/, r.stderr);
    // the original's FIFO kept exactly its bytes
    assert.is(await run.exited, 0, run.stderr);
    assert.match(run.stdout, `fifo bytes=${bytes}\n`);
    noStrays();
  });
}

if (isRoot)
  test('a job run unprivileged on root\'s terminal, which it cannot reopen, keeps its terminal settings (root only: root owns the terminal)', async () => {
    const uid = 65534;
    const job = compile('winchjob');
    const dir = workDir(uid, 'othertty');
    const name = `othertty-${uid}`;
    const state = stateDirFor(uid);
    fs.mkdirSync(state, { recursive: true, mode: 0o700 });
    fs.chownSync(state, uid, uid);
    // root's pty, then the unprivileged user inside it (setpriv), as in root's tmux
    const asNobody = (size: string) => [...onPty(size), 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--',
      'env', `VDOMAIN_DIR=${state}`, 'HOME=/nonexistent'];
    const run = vdomainBackground(0, ['run', '--name', name, '--', job], { wrap: asNobody('30x100') });
    await run.waitFor(/ready/);
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await run.exited;
    const r = vdomain(0, ['restore', path.join(dir, 'img')], { wrap: asNobody('25x90') });
    assert.is(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, 'winch termios=ok size=25x90 winch=1');
    noStrays();
  });

for (const { label, uid } of USERS) {
  test(`run and restore ended by checkpoint --kill exit 75 every time, with one line naming the image (10 runs) (${label})`, async () => {
    const dir = workDir(uid, 'killed');
    for (let i = 0; i < 10; i++) {
      const name = `killed-${uid}-${i}`;
      const img = path.join(dir, `img${i}`);
      // identity and remapped domains (a remapped root ends through its tracer)
      const job = vdomainBackground(uid, ['run', '--name', name, ...(i % 2 ? ['--vpid-base', '5000'] : []), '--', 'sleep', '30']);
      assert.ok(await modeOf(uid, name), 'the domain is up');
      checkpoint(uid, name, img, true);
      assert.is(await job.exited, 75, `run ${i}: ${job.stderr}`);
      assert.is(job.stderr, `vdomain: checkpointed into ${img} and ended; restore it to go on\n`);
    }
    // and a restored job ended the same way
    const name = `killed-${uid}-r`;
    const r = vdomainBackground(uid, ['restore', '--name', name, path.join(dir, 'img0')]);
    assert.ok(await modeOf(uid, name), 'the restored domain is up');
    checkpoint(uid, name, path.join(dir, 'again'), true);
    assert.is(await r.exited, 75, r.stderr);
    assert.is(r.stderr, `vdomain: checkpointed into ${path.join(dir, 'again')} and ended; restore it to go on\n`);
    noStrays();
  });

  test(`list says "remapped" for a remapped restore, as list --json does (${label})`, async () => {
    const dir = workDir(uid, 'listmode');
    const name = `listmode-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--vpid-base', String(vpidBaseAbovePidMax()), '--', 'sleep', '30']);
    assert.ok(await modeOf(uid, name));
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;
    // no real PID reaches the base: the restore is remapped whoever runs it
    const r = vdomainBackground(uid, ['restore', path.join(dir, 'img')]);
    assert.is(await modeOf(uid, name), 'remapped');
    const text = vdomain(uid, ['list']).stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    assert.match(text, / remapped/, text);
    assert.not.match(text, /identity/, text);
    checkpoint(uid, name, path.join(dir, 'img2'), true);
    await r.exited;
    noStrays();
  });

  test(`list answers within 4.5 s (it took 5 s and more) beside a supervisor that never answers, and still lists the others (${label})`, async () => {
    const name = `listhung-${uid}`;
    const dir = workDir(uid, 'listhung');
    const job = vdomainBackground(uid, ['run', '--name', name, '--', 'sleep', '30']);
    assert.ok(await modeOf(uid, name));
    // a "supervisor" of the same user that accepts and never answers
    const sock = path.join(stateDirFor(uid), 'hung.sock');
    const held: net.Socket[] = [];
    const server = net.createServer((s) => held.push(s));
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    if (isRoot) fs.chownSync(sock, uid, uid);
    try {
      const t0 = Date.now();
      const ds = listJson(uid);
      const ms = Date.now() - t0;
      assert.ok(ms < 4500, `list took ${ms} ms`);
      assert.ok(ds.some((d) => d.name === name), 'the live domain is listed');
    } finally {
      held.forEach((s) => s.destroy());
      server.close();
      fs.rmSync(sock, { force: true });
    }
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;
    noStrays();
  });
}

// A job that daemonises (test/workloads/daemonjob.c): its root exits with status 3
// at once, a daemon (forked twice: its session's leader is gone too) and an orphan
// left in the root's session work on. Checkpointed root-exited, the restored domain
// is root-exited too: the two go on to the results of an uninterrupted run and the
// restore exits, as `run` does, with the root's status once they end.
const DAEMON_ARGS = ['100', '25'];  // 2.5 s: the restored domain is still there to list on a slow machine
const resultLines = (out: string) => out.split('\n').filter((l) => / x=| FAIL/.test(l)).sort();
let daemonReference: string[] | undefined;
function daemonResults(): string[] {
  // (the pipe closes when the last of the three has ended)
  daemonReference ??= resultLines(spawnSync(compile('daemonjob'), DAEMON_ARGS, { encoding: 'utf8' }).stdout);
  assert.equal(daemonReference.map((l) => l.split(' ')[1].slice(0, 2)), ['x=', 'x='], `uninterrupted run: ${daemonReference}`);
  return daemonReference;
}
const stateOf = (uid: number, name: string) => listJson(uid).find((d) => d.name === name)?.state;

for (const { label, uid } of USERS) {
  for (const kill of [true, false]) {
    test(`a job that daemonises is checkpointed${kill ? ' (--kill)' : ' and restored beside its original'} once its root has exited, and restored root-exited: daemon and orphan end as an uninterrupted run, the restore exits with the root's status (${label})`, async () => {
      const ref = daemonResults();
      const dir = workDir(uid, `daemon-${kill}`);
      const name = `daemon-${uid}-${kill ? 'k' : 'b'}`;
      const run = vdomainBackground(uid, ['run', '--name', name, '--', compile('daemonjob'), ...DAEMON_ARGS]);
      await run.waitFor(/ready daemon/);
      await run.waitFor(/ready orphan/);
      assert.ok(await until(() => stateOf(uid, name) === 'root-exited'), 'the domain is root-exited');
      const img = path.join(dir, 'img');
      checkpoint(uid, name, img, kill);
      const ins = vdomain(uid, ['inspect', img]);
      assert.match(ins.stdout, /<exited root, wait status 768>/);
      const restored = vdomainBackground(uid, ['restore', '--name', `${name}-r`, img]);
      let listed: any;
      assert.ok(await until(() => (listed = listJson(uid).find((d) => d.name === `${name}-r`))?.state === 'root-exited', 10_000),
        `the restored domain is root-exited: ${restored.stderr}`);
      assert.is(listed.root.exitStatus, 3);
      assert.is(await restored.exited, 3, restored.stderr);
      assert.equal(resultLines(restored.stdout), ref, restored.stdout);
      assert.is(restored.stderr, '');
      assert.is(await run.exited, kill ? 75 : 3, run.stderr);
      if (!kill) assert.equal(resultLines(run.stdout), ref, run.stdout);
      noStrays();
    });
  }
}

test.run();
