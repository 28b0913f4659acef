// Memory state beyond contents (issue 14): madvise advice, a shared file mapping
// that may become writable, /dev/zero shared mappings, mappings past the end of
// their file, mlock, THP and MDWE prctls. Each workload (test/workloads/*.c, see
// memcheck.h) sets its state, says "ready", is checkpointed --kill, restored, and
// prints PASS or what changed; identity and remapped, root and unprivileged.
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
  await job.waitFor(/^ready$/m);
  assert.ok(await modeOf(uid, name), 'the domain is up');
  const img = path.join(dir, `img-${remapped ? 'remapped' : 'identity'}`);
  checkpoint(uid, name, img, true);
  await job.exited;
  const r = vdomain(uid, ['restore', img]);
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').pop()!;
}

const workloads: { what: string; name: string; args: (dir: string) => string[] }[] = [
  { what: 'madvise advice (dontfork, dontdump, wipeonfork, hugepage, nohugepage)', name: 'madvise', args: () => [] },
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

test.run();
