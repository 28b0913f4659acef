// A restore command always ends on SIGTERM, SIGINT or SIGHUP, however long the
// restore takes (native Domain::abortRestore; supervisor/run.ts): one line, exit
// 128 + the signal, nothing of the job left (no process, no keeper, no domain in
// list, no control socket), and the image restores whole afterwards. The restore
// is of a 512 MB job (bench/memjob.c), signalled once its keeper exists, i.e.
// inside the native restore, which used to block node's signal handling.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkpoint, compile, listJson, noStrays, sleep, stateDirFor, USERS, vdomain, vdomainBackground, workDir } from './helpers';

const test = suite('interrupted restore');
const SIGNALS = { SIGTERM: 15, SIGINT: 2, SIGHUP: 1 } as const;

/** The children of pid, made by any of its threads (the restore forks its keeper off node's main thread). */
function childrenOf(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}
const tracerOf = (pid: number) => {
  try {
    return Number(/TracerPid:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return 0;
  }
};
const comm = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

async function bigImage(uid: number, name: string) {
  const dir = workDir(uid, name);
  const job = vdomainBackground(uid, ['run', '--name', name, '--', compile('bench/memjob'), '512']);
  await job.waitFor(/ready/, 60_000);
  const img = path.join(dir, 'img');
  checkpoint(uid, name, img, true);
  await job.exited;
  return img;
}

for (const { label, uid } of USERS) {
  test(`SIGTERM, SIGINT and SIGHUP during a restore end it at once, leaving nothing; the image then restores whole (${label})`, async () => {
    const name = `interrupt-${uid}`;
    const img = await bigImage(uid, name);
    for (const [sig, num] of Object.entries(SIGNALS) as [NodeJS.Signals, number][]) {
      const r = vdomainBackground(uid, ['restore', img]);
      // inside the native restore: its keeper's restoring child exists and is traced (until it is released)
      const t0 = Date.now();
      let keeper = 0;
      while (!keeper && Date.now() - t0 < 30_000) {
        keeper = childrenOf(r.child.pid!).find((c) => comm(c) === 'vdomain-keeper' && childrenOf(c).some((k) => tracerOf(k) > 0)) ?? 0;
        if (!keeper) await sleep(1);
      }
      assert.ok(keeper, `no keeper seen; ${r.stderr}`);
      const signalled = Date.now();
      r.child.kill(sig);
      const status = await r.exited;
      const tookMs = Date.now() - signalled;
      assert.is(status, 128 + num, `${sig}: ${r.stderr}`);
      assert.ok(tookMs < 2000, `${sig}: ended ${tookMs} ms after the signal`);
      assert.is(r.stderr, `vdomain: restore interrupted by ${sig}: nothing of the job was left running\n`);
      assert.is(r.stdout, '');
      noStrays();
      assert.equal(childrenOf(keeper), [], 'the keeper\'s tree is gone');
      assert.ok(!fs.existsSync(`/proc/${keeper}/comm`) || comm(keeper) !== 'vdomain-keeper', 'the keeper is gone');
      assert.equal(listJson(uid).filter((d) => d.name === name), [], 'no domain left in list');
      assert.not.ok(fs.readdirSync(stateDirFor(uid)).some((f) => f.startsWith(name)), 'no control socket left');
    }
    const again = vdomainBackground(uid, ['restore', img]);
    await sleep(200);
    again.child.stdin.end('x');
    assert.is(await again.exited, 0, again.stderr);
    assert.match(again.stdout, /^ok \w+\n$/);
    noStrays();
  });
}

test.run();
