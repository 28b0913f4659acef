// Process and thread attributes and credentials on the real kernel path
// (test/workloads/attrs.c, setuid.c, tcreds.c): each set by the job, the job
// checkpointed with --kill, restored as identity and remapped restores, as root
// and unprivileged; the restored job checks each and prints PASS or what changed.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkpoint, compile, isRoot, modeOf, noStrays, USERS, vdomain, vdomainBackground, vpidBaseAbovePidMax, workDir } from './helpers';

const test = suite('procattrs');

/**
 * Runs argv (its first argument the GO file it waits for) in a domain, checkpoints
 * it with --kill once it printed "ready", and restores it in the foreground.
 */
async function checkpointAndRestore(uid: number, name: string, argv: string[], dir: string, vpidBase?: number) {
  const go = path.join(dir, 'go');
  const job = vdomainBackground(uid, ['run', '--name', name, ...(vpidBase ? ['--vpid-base', String(vpidBase)] : []), '--', argv[0], go, ...argv.slice(1)]);
  const ready = (await job.waitFor(/^ready .*$/m, 60_000))[0];
  assert.ok(await modeOf(uid, name), 'the domain is up');
  const img = path.join(dir, 'img');
  checkpoint(uid, name, img, true);
  await job.exited;
  fs.writeFileSync(go, '');
  const r = vdomain(uid, ['restore', img]);
  return { ready, r, img };
}

for (const { label, uid } of USERS)
  for (const remapped of [false, true]) {
    const how = remapped ? 'remapped' : 'identity';
    test(`groups, oom_score_adj, loginuid, subreaper, prctls, membarrier and a pending blocked SIGTRAP come back (${how}, ${label})`, async () => {
      const attrs = compile('attrs');
      const dir = workDir(uid, 'attrs');
      const { ready, r } = await checkpointAndRestore(uid, `attrs-${how}-${uid}`, [attrs], dir, remapped ? vpidBaseAbovePidMax() : undefined);
      assert.match(ready, /oom=123 .*subreaper=1 pdeathsig=23 dumpable=1 .*timerslack=123456 .*membarrier=16 barrier=1 trap-pending=1 trap-blocked=1$/);
      // (the I/O flusher flag needs CAP_SYS_RESOURCE, which root lacks on this machine: not set here)
      if (uid === 0) assert.match(ready, /groups=4242,4243 .*loginuid=4242 .*securebits=17 /);
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout.trim(), 'attrs PASS');
      noStrays();
    });
  }

test.run();
