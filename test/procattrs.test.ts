// Process and thread attributes and credentials on the real kernel path
// (test/workloads/attrs.c, setuid.c, tcreds.c): each set by the job, the job
// checkpointed with --kill, restored as identity and remapped restores, as root
// and unprivileged; the restored job checks each and prints PASS or what changed.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkpoint, compile, isRoot, modeOf, noStrays, USERS, vdomain, rewriteManifest, vdomainBackground, vpidBaseAbovePidMax, workDir } from './helpers';

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

for (const { label, uid } of USERS.filter((u) => u.uid !== 0))
  test(`a job that is not dumpable: an unprivileged checkpoint refuses it with one line, exit 5, and it runs on (${label})`, async () => {
    const attrs = compile('attrs');
    const dir = workDir(uid, 'nodump');
    const go = path.join(dir, 'go');
    const name = `nodump-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', attrs, go, 'nodump']);
    await job.waitFor(/^ready .*dumpable=0 /m, 60_000);
    const r = vdomain(uid, ['checkpoint', name, '-o', path.join(dir, 'img'), '--kill']);
    assert.is(r.status, 5, r.stderr);
    assert.match(r.stderr.trim(), /^vdomain: cannot checkpoint: pid \d+ is not dumpable \(PR_SET_DUMPABLE 0, or its credentials changed\) — only root can checkpoint it$/);
    assert.not.ok(fs.existsSync(path.join(dir, 'img')), 'no image');
    fs.writeFileSync(go, '');
    assert.is(await job.exited, 0);
    assert.match(job.stdout, /attrs PASS/);
    noStrays();
  });

// Only root can start a job as root that then drops to another user, or give a
// thread credentials of its own; the unprivileged side of it is the refusal below.
if (isRoot)
  for (const remapped of [false, true]) {
    const how = remapped ? 'remapped' : 'identity';
    test(`a job that dropped from root to uid 65534 after start comes back as 65534, working (${how}; root only: only root can drop from root)`, async () => {
      const setuid = compile('setuid');
      const dir = workDir(0, 'setuid');
      const { ready, r } = await checkpointAndRestore(0, `setuid-${how}`, [setuid], dir, remapped ? vpidBaseAbovePidMax() : undefined);
      assert.match(ready, /uid=65534,65534,65534 gid=65534,65534,65534 groups=1 dumpable=0 CapInh:\s+0+ CapPrm:\s+0+ CapEff:\s+0+/);
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout.trim(), 'setuid PASS');
      noStrays();
    });

    test(`a thread with other uids and gids than its process comes back with its own (${how}; root only: only root can change a thread's uid)`, async () => {
      const tcreds = compile('tcreds');
      const dir = workDir(0, 'tcreds');
      const { ready, r } = await checkpointAndRestore(0, `tcreds-${how}`, [tcreds], dir, remapped ? vpidBaseAbovePidMax() : undefined);
      assert.match(ready, /thread: Uid:\s+2000\s+2001\s+0\s+2001\s+Gid:\s+1000\s+1001\s+0\s+1001/);
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout.trim(), 'tcreds PASS');
      noStrays();
    });
  }

if (isRoot)
  test('an image of a job with credentials not the user\'s: an unprivileged restore refuses it with one line, exit 5 (root checkpoints: only root can make one)', async () => {
    const tcreds = compile('tcreds');
    const dir = workDir(0, 'tcreds-refused');
    const name = 'tcreds-refused';
    const job = vdomainBackground(0, ['run', '--name', name, '--', tcreds, path.join(dir, 'go')]);
    await job.waitFor(/^ready/m, 60_000);
    const img = path.join(dir, 'img');
    checkpoint(0, name, img, true);
    await job.exited;
    // made to look like nobody's own image (owner and recorded uid, as a crafted one
    // would), so that what refuses it is the credentials of its processes
    rewriteManifest(img, (m) => { m.domain.uid = 65534; m.domain.gid = 65534; m.domain.groups = []; });
    for (const f of ['', ...fs.readdirSync(img)]) fs.chownSync(path.join(img, f), 65534, 65534);
    const r = vdomain(65534, ['restore', img]);
    assert.is(r.status, 5, r.stderr);
    assert.match(r.stderr.trim(), /^vdomain: cannot restore: pid \d+: ran with uids 0 0 0 0, not the restoring user's \(only root can restore that\)/);
    assert.is(r.stderr.trim().split('\n').length, 1);
    noStrays();
  });

test.run();
