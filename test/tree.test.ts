// Checkpoint and restore of process trees on the real kernel path: a root with
// children and a grandchild, a process group led by a child and joined by a
// sibling, a child in a session of its own, an orphan adopted by the keeper and
// a zombie (test/workloads/tree.c);
// pipes with bytes in flight and an open file shared across a fork
// (test/workloads/pipes.c); a bash pipeline and make -j2. Checkpointed at random
// moments and restored as identity and remapped restores, as root and
// unprivileged, each must end exactly as an uninterrupted run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  alive, until, checkpoint, compile, isRoot, modeOf, noStrays, randomMs, referenceLine, restoreWithPidTaken, rewriteManifest, ROOT, runCheckpointRestore, sleep, USERS, vdomain,
  vdomainBackground, workDir,
} from './helpers';

const test = suite('process trees');
// the system's, which every test user may run (a root-only pyenv shim may come first in PATH)
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const STEPS = '40000'; // ~2.5 s: each process sleeps 1 ms every 16 steps

/** A fresh directory for the workload's report files, and the reference line. */
function setup(uid: number, name: string) {
  const tree = compile('tree');
  const dir = workDir(uid, name);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  if (isRoot) fs.chownSync(out, uid, uid);
  const ref = referenceLine(`tree-${uid}`, [tree, STEPS, out], dir, uid);
  assert.match(ref, /^tree root=\w+:same A=\w+:same:leader:sig1 A1=\w+:same:in-A:sig1 B=\w+:same:in-A:sig1 S=\w+:same:session-leader:sig0 O=\w+:same:orphan-session-leader:sig0 Z=42 reaped=ok sigchld=ok$/);
  for (const f of fs.readdirSync(out)) fs.rmSync(path.join(out, f));
  return { tree, dir, out, ref };
}

for (const { label, uid } of USERS) {
  test(`a tree with groups, a session and a zombie comes back whole (${label})`, async () => {
    const { tree, dir, out, ref } = setup(uid, 'tree');
    const name = `tree-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', tree, STEPS, out]);
    assert.ok(await modeOf(uid, name), 'the domain is up');
    await sleep(randomMs(300, 1500));
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;

    const info = vdomain(uid, ['inspect', path.join(dir, 'img'), '--json']);
    assert.is(info.status, 0, info.stderr);
    const m = JSON.parse(info.stdout);
    assert.is(m.processes.length, 6, 'root, A, A1, B, S, O');
    assert.is(m.zombies.length, 1, 'Z');
    assert.is(m.zombies[0].status, 42 << 8);

    const r = vdomainBackground(uid, ['restore', path.join(dir, 'img')]);
    assert.is(await modeOf(uid, name), isRoot && uid === 0 ? 'identity' : 'remapped');
    assert.is(await r.exited, 0, r.stderr);
    assert.is(r.stdout.trim(), ref);
    noStrays();
  });

  test(`a tree restored beside its running original: both end as an uninterrupted run (${label})`, async () => {
    const { tree, dir, out, ref } = setup(uid, 'tree-beside');
    const name = `tree-beside-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', tree, STEPS, out]);
    assert.ok(await modeOf(uid, name), 'the domain is up');
    await sleep(randomMs(300, 1000));
    checkpoint(uid, name, path.join(dir, 'img'), false);
    // the copy writes its reports where the original does: after the original
    await job.exited;
    assert.is(job.stdout.trim(), ref);
    for (const f of fs.readdirSync(out)) fs.rmSync(path.join(out, f));
    const r = vdomain(uid, ['restore', path.join(dir, 'img')]);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim(), ref);
    noStrays();
  });

  test(`a restore failing in one process of the tree leaves no process behind (${label})`, async () => {
    const { tree, dir, out } = setup(uid, 'tree-fail');
    const name = `tree-fail-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', tree, STEPS, out]);
    assert.ok(await modeOf(uid, name), 'the domain is up');
    await sleep(300);
    const img = path.join(dir, 'img');
    checkpoint(uid, name, img, true);
    await job.exited;
    // a "file" mapping of a child that is a directory: its restorer fails to map it
    const st = fs.statSync(dir, { bigint: true });
    let victim = 0;
    rewriteManifest(img, (m) => {
      const p = m.processes.find((x: any) => x.vpid !== m.processes[0].vpid && x.vppid !== m.processes[0].vppid);
      victim = p.vpid;
      const v = p.vmas.find((x: any) => x.kind === 'file-private' && x.runs.length === 0);
      Object.assign(v, { path: dir, fileSize: Number(st.size), fileMtimeNs: st.mtimeNs.toString() });
    });
    const r = vdomain(uid, ['restore', img]);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`restore failed mapping memory at [0-9a-f]+ \\(.*\\) \\(pid ${victim}\\): No such device`));
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    await sleep(200);
    noStrays();
  });

  test(`a shell script with a child that exec'd another program, restored mid-run (${label})`, async () => {
    const dir = workDir(uid, 'sh');
    const name = `sh-${uid}`;
    const script = 'for i in 1 2 3 4 5 6 7 8; do sleep 0.25; echo step $i; done; echo done';
    const job = vdomainBackground(uid, ['run', '--name', name, '--', 'sh', '-c', script]);
    await job.waitFor(/step 2/);
    await sleep(randomMs(0, 250));
    // most of the time a `sleep` child (sh forked, the child exec'd) is in the tree
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;
    const before = job.stdout;
    const r = vdomain(uid, ['restore', path.join(dir, 'img')]);
    assert.is(r.status, 0, r.stderr);
    assert.is(before + r.stdout, [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `step ${i}\n`).join('') + 'done\n');
    noStrays();
  });
}

for (const { label, uid } of USERS) {
  test(`pipes and a FIFO with bytes in flight (one full) and a file shared across a fork come back (${label})`, async () => {
    const pipes = compile('pipes');
    for (const beside of [false, true]) {
      const dir = workDir(uid, 'pipes');
      const ref = referenceLine(`pipes-${uid}`, [pipes, dir], dir, uid);
      assert.match(ref, /^pipes p=\w+\/40000 q=\w+\/(\d+) f=\w+\/3000 filled=\1 log=540 child=0$/);
      const name = `pipes-${uid}`;
      const job = vdomainBackground(uid, ['run', '--name', name, '--', pipes, dir]);
      assert.ok(await modeOf(uid, name), 'the domain is up');
      await sleep(randomMs(100, 900));  // (the job takes ~2 s)
      // beside: the original runs on to its end first (they share DIR), then the copy
      checkpoint(uid, name, path.join(dir, 'img'), !beside);
      await job.exited;
      if (beside) assert.is(job.stdout.trim(), ref);
      const r = vdomain(uid, ['restore', path.join(dir, 'img')]);
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout.trim(), ref);
    }
    noStrays();
  });

  test(`a bash pipeline (seq | awk | sort | tail) restored mid-run prints what an uninterrupted run prints (${label})`, async () => {
    const dir = workDir(uid, 'pipeline');
    // ~2 s: checkpointed well before its end
    const script = 'for i in $(seq 1 40); do echo $i; sleep 0.05; done | awk \'{ s += $1; print s; fflush() }\' | sort -rn | head -3';
    const r = await runCheckpointRestore(uid, `pipeline-${uid}`, ['bash', '-c', script], dir, [200, 1000]);
    assert.is(r.stdout, '820\n780\n741\n');
    noStrays();
  });

  test(`make -j2 restored mid-build finishes the build (${label})`, async () => {
    const dir = workDir(uid, 'make');
    const targets = ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'];
    fs.writeFileSync(
      path.join(dir, 'Makefile'),
      `all: ${targets.join(' ')}\n\tcat $^ > all\n` + targets.map((t) => `${t}:\n\tsleep 0.4; echo built-$@ > $@\n`).join(''),
    );
    const name = `make-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', 'make', '-s', '-j2', '-C', dir]);
    assert.ok(await modeOf(uid, name), 'the domain is up');
    await sleep(randomMs(200, 900));
    assert.ok(job.child.exitCode === null, `make ended early: ${job.stdout} ${job.stderr}`);
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;
    const r = vdomain(uid, ['restore', path.join(dir, 'img')]);
    assert.is(r.status, 0, r.stderr);
    assert.is(fs.readFileSync(path.join(dir, 'all'), 'utf8'), targets.map((t) => `built-${t}\n`).join(''));
    noStrays();
  });
}

if (isRoot)
  test('an identity restore with one old PID taken by another process becomes a remapped one (root only: only root restores old PIDs, and only root can take a chosen PID)', async () => {
    const { tree, dir, out, ref } = setup(0, 'tree-taken');
    const name = 'tree-taken-0';
    const job = vdomainBackground(0, ['run', '--name', name, '--', tree, STEPS, out]);
    assert.ok(await modeOf(0, name), 'the domain is up');
    await sleep(randomMs(300, 1000));
    const img = path.join(dir, 'img');
    checkpoint(0, name, img, true);
    await job.exited;
    // a child's PID (not the root's) taken meanwhile
    const m = JSON.parse(vdomain(0, ['inspect', img, '--json']).stdout);
    const child = m.processes.find((p: any) => p.vpid !== m.processes[0].vpid).vpid as number;
    await restoreWithPidTaken(img, name, child, ref);
    noStrays();
  });

for (const { label, uid } of USERS) {
  test(`a job on a terminal comes back onto the restoring terminal: settings, foreground group, its child in its group, job control (${label})`, async () => {
    const termjob = compile('termjob');
    const ptyrun = path.join(ROOT, 'test', 'ptyrun.py');
    const dir = workDir(uid, 'term');
    const name = `term-${uid}`;
    // each on a terminal of its own: the job's, then the restoring command's
    // (the first 24x80, the second 40x100: the job is told of the new size once)
    const job = vdomainBackground(uid, ['run', '--name', name, '--', termjob], { wrap: ['env', 'PTY_SIZE=24x80', PYTHON, ptyrun] });
    await job.waitFor(/ready/);
    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;
    const r = vdomain(uid, ['restore', path.join(dir, 'img')], { wrap: ['env', 'PTY_SIZE=40x100', PYTHON, ptyrun] });
    assert.is(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /term termios=ok fg=ok group=ok jobctl=ok size=40x100 winch=1/);
    noStrays();
  });
}

for (const { label, uid } of USERS) {
  test(`a file deleted while open, one description for a parent and its child, comes back once: contents and shared position (${label})`, async () => {
    const job = compile('sharedtmp');
    const dir = workDir(uid, 'sharedtmp');
    const ref = referenceLine('sharedtmp', [job, dir, '200'], dir, uid);
    assert.match(ref, /^sharedtmp pos=500 hash=\w+$/);
    const r = await runCheckpointRestore(uid, `sharedtmp-${uid}`, [job, dir, '200'], dir, [500, 1200]);
    assert.is(r.stdout.trim(), ref);
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('sharedtmp') || f.startsWith('.vdomain')), [], 'nothing left in its directory');
    noStrays();
  });
}

test('a job forking without pause is checkpointed once its tree holds still, and restored whole', async () => {
  for (const { uid } of USERS) {
    const dir = workDir(uid, 'forks');
    // ~2.7 s here (1500 took 0.7 s and could end before its checkpoint)
    const script = 'i=0; while [ $i -lt 6000 ]; do /bin/true; i=$((i+1)); done; echo done $i';
    const r = await runCheckpointRestore(uid, `forks-${uid}`, ['sh', '-c', script], dir, [100, 400]);
    assert.is(r.stdout, 'done 6000\n');
  }
  noStrays();
});

test.run();
