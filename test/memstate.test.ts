// Memory state beyond contents (issue 14): madvise advice, a shared file mapping
// that may become writable, /dev/zero shared mappings, mappings past the end of
// their file, mlock, THP and MDWE prctls. Each workload (test/workloads/*.c, see
// memcheck.h) sets its state, says "ready", is checkpointed --kill, restored (its
// stdin ends: it goes on), and
// prints PASS or what changed; identity and remapped, root and unprivileged.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkpoint, compile, modeOf, noStrays, referenceLine, USERS, vdomain, vdomainBackground, vpidBaseAbovePidMax, workDir } from './helpers';

const test = suite('memstate');
const base = vpidBaseAbovePidMax();

/** Runs the workload in a domain, checkpoints it --kill once ready, restores it: its last line. */
async function restoredLine(uid: number, name: string, argv: string[], dir: string, remapped: boolean): Promise<string> {
  const mode = remapped ? ['--vpid-base', String(base)] : [];
  const job = vdomainBackground(uid, ['run', '--name', name, ...mode, '--', ...argv]);
  await job.waitFor(/^ready$/m);  // (it waits for the end of its stdin: the restore's)
  assert.ok(await modeOf(uid, name), 'the domain is up');
  const img = path.join(dir, `img-${remapped ? 'remapped' : 'identity'}`);
  checkpoint(uid, name, img, true);
  await job.exited;
  const r = vdomain(uid, ['restore', img]);
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').pop()!;
}

const workloads: { what: string; name: string; args: (dir: string) => string[] }[] = [
  { what: 'madvise advice (dontfork, dontdump, wipeonfork, hugepage, nohugepage, sequential, random, mergeable), MAP_NORESERVE, mseal', name: 'madvise', args: () => [] },
  { what: 'a r--s mapping of a file open O_RDWR becomes writable; a /dev/zero shared mapping keeps its bytes', name: 'shmap', args: (d) => [d] },
  { what: 'mappings past the end of their file keep SIGBUS there and their in-file pages', name: 'pasteof', args: (d) => [d] },
  { what: 'mlock and mlock2 MLOCK_ONFAULT regions', name: 'mlock', args: () => [] },
  { what: 'mlockall MCL_CURRENT | MCL_FUTURE', name: 'mlock', args: () => ['future'] },
  { what: 'PR_SET_THP_DISABLE', name: 'thp', args: () => [] },
  { what: 'PR_SET_THP_DISABLE and PR_SET_MDWE', name: 'thp', args: () => ['mdwe'] },
];

for (const { label, uid } of USERS)
  for (const w of workloads)
    test(`${w.what}: back after restore, identity and remapped (${label})`, async () => {
      const prog = compile(w.name);
      const dir = workDir(uid, w.name);
      assert.is(referenceLine(`${w.name}${w.args('').join('')}`, [prog, ...w.args(dir)], dir, uid), 'PASS', 'uninterrupted');
      for (const remapped of [false, true]) {
        const line = await restoredLine(uid, `${w.name}-${uid}`, [prog, ...w.args(dir)], dir, remapped);
        assert.is(line, 'PASS', remapped ? 'remapped' : 'identity');
      }
      noStrays();
    });

// Protection keys need the CPU's PKU (cpuinfo flag "pku"): without it pkey_alloc
// fails and no job can hold one, so there is nothing to refuse.
const hasPku = /^flags\s*:.*\bpku\b/m.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
if (!hasPku) console.log('memstate: this CPU has no protection keys (no "pku" in /proc/cpuinfo): the pkey refusal is not tested here');
const refused: { what: string; arg: string; reason: RegExp }[] = [
  ...(hasPku ? [{ what: 'a protection key (pkey_mprotect)', arg: 'pkey', reason: /protection key \d+ \(pkey_mprotect\)/ }] : []),
  { what: 'a MAP_GROWSDOWN mapping besides the stack', arg: 'growsdown', reason: /MAP_GROWSDOWN mapping besides the stack/ },
];

for (const { label, uid } of USERS)
  for (const r of refused)
    test(`${r.what} is refused at checkpoint (exit 5, one line), and the job runs on untouched (${label})`, async () => {
      const prog = compile('memrefuse');
      const dir = workDir(uid, 'memrefuse');
      const name = `memrefuse-${uid}`;
      const job = vdomainBackground(uid, ['run', '--name', name, '--', prog, r.arg]);
      await job.waitFor(/^ready$/m);
      const img = path.join(dir, 'img');
      const c = vdomain(uid, ['checkpoint', name, '-o', img, '--kill']);
      assert.is(c.status, 5, c.stderr);
      const lines = c.stderr.trim().split('\n').filter((l) => r.reason.test(l));
      assert.is(lines.length, 1, c.stderr);
      assert.match(lines[0], /pid \d+/);
      assert.not.ok(fs.existsSync(path.join(img, 'manifest.json')), 'no image');
      job.child.stdin.end();
      assert.is(await job.exited, 0, job.stderr);
      assert.is(job.stdout.trim().split('\n').pop(), 'PASS', 'the job ran on untouched');
      noStrays();
    });

test.run();
