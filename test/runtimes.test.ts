// The runtimes people run, checkpointed mid-run and restored: Node 20 (timers, a
// worker thread: epoll, eventfd, shared memory between threads), Python's
// multiprocessing.Pool(2) with a shared Value and Lock (POSIX semaphores and a
// heap in deleted /dev/shm files, shared by three processes), Java (a JVM's
// threads and timers) and Go, static and dynamic (goroutines, tickers: epoll
// edge-triggered), script(1) with a shell job on its pty, and tail -f and
// Node's fs.watch (inotify). Each is checkpointed twice (--kill, restored, checkpointed
// again) and restored beside its running original; each output must be that of
// an uninterrupted run, as root and unprivileged.
// (Node's child process over IPC and Python's asyncio need sockets: issue 17.)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkpoint, checkpointAgainAndAgain, isRoot, modeOf, noStrays, randomMs, referenceLine, sleep, USERS, vdomainBackground, WORK,
} from './helpers';

const test = suite('runtimes');

// Each program writes one result line at its end, the same on every run, after
// about 4-6 s uninterrupted on this machine.
const NODE = `
const { Worker } = require('worker_threads');
const crypto = require('crypto');
const spin = (h, n) => { for (let i = 0; i < n; i++) h = crypto.createHash('sha256').update(h).digest(); return h; };
const ticking = (seed, ticks, every, work) => new Promise((done) => {
  let h = Buffer.from(seed), n = 0;
  const t = setInterval(() => { h = spin(h, work); if (++n === ticks) { clearInterval(t); done(h.toString('hex').slice(0, 16)); } }, every);
});
const worker = new Worker(\`
  const { parentPort } = require('worker_threads'); const crypto = require('crypto');
  let h = Buffer.from('worker'), n = 0;
  const t = setInterval(() => {
    for (let i = 0; i < 3000; i++) h = crypto.createHash('sha256').update(h).digest();
    if (++n === 150) { clearInterval(t); parentPort.postMessage(h.toString('hex').slice(0, 16)); }
  }, 25);\`, { eval: true });
const fromWorker = new Promise((done) => worker.once('message', done));
Promise.all([ticking('main', 200, 20, 2000), fromWorker]).then(([m, w]) => { console.log('node main=' + m + ' worker=' + w); worker.terminate(); });
`;

const PYTHON_POOL = `
import multiprocessing as mp, time
def init(v, l):
    global V, L
    V, L = v, l
def work(i):
    s = 0
    for k in range(150000): s += (k * i) % 7
    time.sleep(0.05)
    with L:
        V.value += 1
    return s
if __name__ == '__main__':
    v, l = mp.Value('i', 0), mp.Lock()
    with mp.Pool(2, initializer=init, initargs=(v, l)) as p:
        r = p.map(work, range(120))
    print('pool', sum(r), v.value)
`;

const JAVA = `
public class Threads {
  public static void main(String[] a) throws Exception {
    long[] sums = new long[4];
    Thread[] ts = new Thread[4];
    for (int k = 0; k < 4; k++) {
      final int id = k;
      ts[k] = new Thread(() -> {
        long s = id;
        for (int i = 0; i < 100; i++) {
          for (int j = 0; j < 200000; j++) s = s * 6364136223846793005L + 1442695040888963407L;
          try { Thread.sleep(40); } catch (InterruptedException e) { return; }
        }
        sums[id] = s;
      });
      ts[k].start();
    }
    for (Thread t : ts) t.join();
    System.out.println("java " + Long.toHexString(sums[0] ^ sums[1] ^ sums[2] ^ sums[3]));
  }
}
`;

const GO = `
package main

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

func main() {
	var wg sync.WaitGroup
	res := make([]string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			h := sha256.Sum256([]byte{byte(g)})
			t := time.NewTicker(20 * time.Millisecond)
			for i := 0; i < 250; i++ {
				<-t.C
				for k := 0; k < 3000; k++ {
					h = sha256.Sum256(h[:])
				}
			}
			t.Stop()
			res[g] = fmt.Sprintf("%x", h[:4])
		}(g)
	}
	wg.Wait()
	fmt.Println("go", res)
}
`;

// script(1) runs its job on a pty pair it holds (a session led by the shell, the
// pty its terminal); the shell forks a sleep at each step.
const SCRIPT_JOB = 'i=0; s=0; while [ $i -lt 70 ]; do s=$(( (s * 31 + i) % 1000003 )); i=$((i+1)); sleep 0.05; done; ' +
  'echo script $s $(stty size) $(tty | tr -d 0-9) $(stty -g | cksum | cut -c1-8)';

// tail -f follows a file another process appends to (inotify: the file's watch),
// and ends with the writer (--pid); what it copied, summed.
const TAIL_JOB = 'cd "$(mktemp -d)" || exit 1; : > log; (i=0; while [ $i -lt 70 ]; do i=$((i+1)); echo line $i >> log; sleep 0.05; done) & ' +
  'tail -n +1 -s 0.2 -f --pid=$! log | cksum';

// Node's fs.watch (libuv: inotify) on a directory a timer adds files to; the
// names it saw, counted once each.
const NODE_WATCH = `
const fs = require('fs'), os = require('os'), path = require('path');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watch-'));
const seen = new Set();
const w = fs.watch(dir, (ev, name) => { if (name) seen.add(name); });
let i = 0;
const t = setInterval(() => {
  fs.writeFileSync(path.join(dir, 'f' + i), String(i));
  if (++i === 80) { clearInterval(t); setTimeout(() => { w.close(); console.log('watch', seen.size); }, 300); }
}, 50);
`;

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const BUILD = path.join(WORK, 'runtimes');
fs.mkdirSync(BUILD, { recursive: true, mode: 0o755 });

/** Writes (and builds) each program once; its argv. */
const programs: { name: string; argv: () => string[]; beside?: false }[] = [
  { name: 'node', argv: () => [process.execPath, write('worker.js', NODE)] },
  { name: 'python-pool', argv: () => ['/usr/bin/python3', write('pool.py', PYTHON_POOL)] },
  {
    name: 'java',
    argv: () => {
      const src = write('Threads.java', JAVA);
      if (!fs.existsSync(path.join(BUILD, 'Threads.class'))) {
        const r = spawnSync('javac', ['-d', BUILD, src], { encoding: 'utf8' });
        assert.is(r.status, 0, r.stderr);
      }
      return ['java', '-cp', BUILD, 'Threads'];
    },
  },
  { name: 'go-static', argv: () => [goBuild('go-static', ['-ldflags=-s'], { CGO_ENABLED: '0' })] },
  { name: 'go-dynamic', argv: () => [goBuild('go-dynamic', ['-ldflags=-linkmode=external'], {})] },
  { name: 'script', argv: () => ['script', '-q', '-c', SCRIPT_JOB, '/dev/null'] },
  // (not beside their originals: the copy would write to the same files the original watches)
  { name: 'node-fs-watch', argv: () => [process.execPath, write('watch.js', NODE_WATCH)], beside: false },
  { name: 'tail-f', argv: () => ['sh', '-c', TAIL_JOB], beside: false },
];

function write(file: string, text: string) {
  const at = path.join(BUILD, file);
  if (!fs.existsSync(at)) fs.writeFileSync(at, text, { mode: 0o644 });
  return at;
}

function goBuild(name: string, flags: string[], env: Record<string, string>) {
  const out = path.join(BUILD, name);
  if (fs.existsSync(out)) return out;
  const src = write('main.go', GO);
  const cache = path.join(BUILD, 'gocache');
  const r = spawnSync('go', ['build', ...flags, '-o', out, src], {
    encoding: 'utf8', env: { ...process.env, HOME: BUILD, GOCACHE: cache, GOPATH: path.join(BUILD, 'gopath'), ...env },
  });
  assert.is(r.status, 0, r.stderr);
  const kind = spawnSync('file', [out], { encoding: 'utf8' }).stdout;
  assert.match(kind, name === 'go-static' ? /statically linked/ : /dynamically linked/);
  return out;
}

test('the runtimes the tests need are installed (java, javac, go)', () => {
  for (const cmd of ['java', 'javac', 'go']) assert.ok(has(cmd), `${cmd} is missing: .ci/run installs it`);
});

for (const { name, argv, beside } of programs)
  for (const { label, uid } of USERS) {
    test(`${name}: checkpointed twice mid-run and restored, it ends as an uninterrupted run (${label})`, async () => {
      const dir = fs.mkdtempSync(path.join(WORK, `rt-${name}-${uid}-`));
      if (isRoot) fs.chownSync(dir, uid, uid);
      const ref = referenceLine(`rt-${name}`, argv(), dir, uid);
      assert.ok(ref.length > 0, 'the uninterrupted run printed its line');
      const line = await checkpointAgainAndAgain(uid, `rt-${name}-${uid}`, argv(), dir, 2, [400, 1100]);
      assert.is(line, ref);
      noStrays();
    });

    if (beside !== false) test(`${name}: restored beside its running original, both end as an uninterrupted run (${label})`, async () => {
      const dir = fs.mkdtempSync(path.join(WORK, `rt-${name}-beside-${uid}-`));
      if (isRoot) fs.chownSync(dir, uid, uid);
      const ref = referenceLine(`rt-${name}`, argv(), dir, uid);
      const dname = `rt-${name}-beside-${uid}`;
      const job = vdomainBackground(uid, ['run', '--name', dname, '--', ...argv()]);
      assert.ok(await modeOf(uid, dname), 'the domain is up');
      await sleep(randomMs(400, 1100));
      checkpoint(uid, dname, path.join(dir, 'img'), false);
      const copy = vdomainBackground(uid, ['restore', path.join(dir, 'img')]);
      assert.is(await copy.exited, 0, copy.stderr);
      assert.is(copy.stdout.trim().split('\n').pop(), ref);
      assert.is(await job.exited, 0, job.stderr);
      assert.is(job.stdout.trim().split('\n').pop(), ref);
      noStrays();
    });
  }

test.run();
