// Multithreaded processes on the real kernel path: 8 worker threads sharing work
// under a mutex and condition variables (test/workloads/threads.c, also linked
// statically), robust mutexes whose owner dies (test/workloads/robust.c), xz -T2
// and a Python interpreter running threads. Checkpointed at random moments,
// again and again, restored as identity and remapped restores (beside the
// running original, and from a remapped original), as root and unprivileged:
// each must end exactly as an uninterrupted run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkpoint, checkpointAgainAndAgain, compile, isRoot, modeOf, noStrays, randomMs, referenceLine, restoreWithPidTaken, sleep, USERS, vdomain, vdomainBackground,
  vpidBaseAbovePidMax, workDir,
} from './helpers';

const test = suite('threads');
const ITEMS = '100000'; // ~4 s uninterrupted on this machine
const ROUNDS = '50';   // robust: ~2.8 s
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** checkpointAgainAndAgain (helpers.ts), each image checked to list the threads:
 * `threadsAlways`: the job has threads besides the main one at every moment
 * (robust.c has not: between its rounds only the main thread lives, and a
 * checkpoint may land there). */
const checkpointThreads = (uid: number, name: string, argv: string[], dir: string, times: number, pause: [number, number], threadsAlways = true) =>
  checkpointAgainAndAgain(uid, name, argv, dir, times, pause, (img, i) => {
    const m = JSON.parse(vdomain(uid, ['inspect', img, '--json']).stdout);
    assert.ok(Array.isArray(m.processes[0].threads), `image ${i} lists the threads`);
    if (threadsAlways) assert.ok(m.processes[0].threads.length >= 1, `image ${i} holds the threads`);
  });

for (const { label, uid } of USERS) {
  test(`8 threads under mutexes and condition variables, checkpointed three times, end as an uninterrupted run (${label})`, async () => {
    const threads = compile('threads');
    const dir = workDir(uid, 'threads');
    const ref = referenceLine('threads', [threads, ITEMS], dir, uid);
    assert.match(ref, /^threads items=100000 workers=8 hash=\w+ names=ok tids=same masks=ok self=ok read=ok signals=(\d+)\/\1$/);
    const line = await checkpointThreads(uid, `threads-${uid}`, [threads, ITEMS], dir, 3, [150, 450]);
    assert.is(line, ref);
    noStrays();
  });

  test(`a static multithreaded binary comes back (${label})`, async () => {
    const threads = compile('threads', ['-static']);
    const dir = workDir(uid, 'threads-static');
    const ref = referenceLine('threads-static', [threads, ITEMS], dir, uid);
    const line = await checkpointThreads(uid, `threads-static-${uid}`, [threads, ITEMS], dir, 1, [300, 1200]);
    assert.is(line, ref);
    noStrays();
  });

  test(`8 threads restored beside their running original: both end as an uninterrupted run (${label})`, async () => {
    const threads = compile('threads');
    const dir = workDir(uid, 'threads-beside');
    const ref = referenceLine('threads', [threads, ITEMS], dir, uid);
    const name = `threads-beside-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', threads, ITEMS]);
    assert.ok(await modeOf(uid, name), 'the domain is up');
    await sleep(randomMs(300, 1000));
    checkpoint(uid, name, path.join(dir, 'img'), false);
    const copy = vdomainBackground(uid, ['restore', path.join(dir, 'img')]);
    assert.is(await copy.exited, 0, copy.stderr);
    assert.is(copy.stdout.trim(), ref);
    assert.is(await job.exited, 0, job.stderr);
    assert.is(job.stdout.trim(), ref);
    noStrays();
  });

  test(`robust mutexes: a thread dying with one held is seen by the next locker, after a restore too (${label})`, async () => {
    const robust = compile('robust');
    const dir = workDir(uid, 'robust');
    const ref = referenceLine('robust', [robust, ROUNDS], dir, uid);
    assert.match(ref, /^robust rounds=50 threads=4 sum=\d+ owner-dead=50\/50 errors=0$/);
    const line = await checkpointThreads(uid, `robust-${uid}`, [robust, ROUNDS], dir, 2, [200, 500], false);
    assert.is(line, ref);
    noStrays();
  });

  test(`xz -T2 compressing a file, restored mid-run, writes the same bytes (${label})`, async () => {
    const dir = workDir(uid, 'xz');
    // 32 MB of text in words: ~5 s of xz -1 on two threads
    let seed = 7;
    const rnd = () => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed / 4294967296;
    };
    const word = () => Array.from({ length: 2 + Math.floor(rnd() * 8) }, () => String.fromCharCode(97 + Math.floor(rnd() * 26))).join('');
    const words = Array.from({ length: 4000 }, word);
    const pick = () => words[Math.floor(rnd() * words.length)];
    const lines: string[] = [];
    for (let size = 0; size < 32e6; ) {
      const l = `${pick()} ${pick()} ${pick()}`;
      lines.push(l);
      size += l.length + 1;
    }
    const input = path.join(dir, 'data');
    fs.writeFileSync(input, lines.join('\n'));
    const reference = spawnSync('xz', ['-T2', '-1', '-c', input], { maxBuffer: 1 << 30 });
    assert.is(reference.status, 0);
    if (isRoot) fs.chownSync(input, uid, uid);

    const line = await checkpointThreads(uid, `xz-${uid}`, ['xz', '-T2', '-1', '-k', input], dir, 1, [400, 1000]);
    assert.is(line, '');
    assert.ok(fs.readFileSync(`${input}.xz`).equals(reference.stdout), 'the compressed file is byte for byte the uninterrupted one');
    noStrays();
  });

  test(`a Python interpreter running 4 threads comes back (${label})`, async () => {
    const dir = workDir(uid, 'python-threads');
    const script = [
      'import hashlib, threading',
      'results = {}',
      'def work(k):',
      '    h = hashlib.sha256(str(k).encode())',
      '    for i in range(1200000): h = hashlib.sha256(h.digest())',
      '    results[k] = h.hexdigest()[:16]',
      'ts = [threading.Thread(target=work, args=(k,), name=f"w{k}") for k in range(4)]',
      '[t.start() for t in ts]; [t.join() for t in ts]',
      'print("python", " ".join(results[k] for k in range(4)))',
    ].join('\n');
    const file = path.join(dir, 'threads.py');
    fs.writeFileSync(file, script);
    fs.chmodSync(file, 0o644);
    const ref = referenceLine('python-threads', [PYTHON, file], dir, uid);
    const line = await checkpointThreads(uid, `python-threads-${uid}`, [PYTHON, file], dir, 2, [200, 500]);
    assert.is(line, ref);
    noStrays();
  });
}

// root only: taking a chosen PID for the holder needs clone3 set_tid
if (isRoot)
  test('a thread whose TID is taken now: the identity restore gives way to a remapped one (root only: only root restores old TIDs, and taking a chosen TID needs clone3 set_tid)', async () => {
    const threads = compile('threads');
    const dir = workDir(0, 'threads-held');
    const ref = referenceLine('threads', [threads, ITEMS], dir, 0);
    const name = 'threads-held';
    const job = vdomainBackground(0, ['run', '--name', name, '--', threads, ITEMS]);
    assert.ok(await modeOf(0, name), 'the domain is up');
    await sleep(randomMs(300, 800));
    const img = path.join(dir, 'img');
    checkpoint(0, name, img, true);
    await job.exited;
    const tid = JSON.parse(vdomain(0, ['inspect', img, '--json']).stdout).processes[0].threads.at(-1).vtid as number;
    await restoreWithPidTaken(img, name, tid, ref);
    noStrays();
  });

test('threads of a remapped domain (--vpid-base) restored beside their original: TIDs and robust mutexes as before', async () => {
  const uid = USERS[0].uid;
  for (const [work, args, key] of [['threads', [ITEMS], 'threads'], ['robust', [ROUNDS], 'robust']] as const) {
    const bin = compile(work);
    const dir = workDir(uid, `${work}-vpid`);
    const ref = referenceLine(key, [bin, ...args], dir, uid);
    const name = `${work}-vpid-${uid}`;
    const job = vdomainBackground(uid, ['run', '--vpid-base', String(vpidBaseAbovePidMax()), '--name', name, '--', bin, ...args]);
    assert.is(await modeOf(uid, name), 'remapped');
    await sleep(randomMs(300, 800));
    checkpoint(uid, name, path.join(dir, 'img'), false);
    const copy = vdomain(uid, ['restore', path.join(dir, 'img')]);
    assert.is(copy.status, 0, copy.stderr);
    assert.is(copy.stdout.trim(), ref, `${work}: the copy`);
    assert.is(await job.exited, 0, job.stderr);
    assert.is(job.stdout.trim(), ref, `${work}: the original`);
  }
  noStrays();
});

test.run();
