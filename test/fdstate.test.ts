// File descriptors' state across checkpoint --kill and restore (issue 14): status
// and fd flags of every kind of fd, deleted files held open (mode, owner, holes),
// descriptors inherited from outside the domain, and what checkpoint refuses.
// Each identity and remapped (--vpid-base), as root and as an unprivileged user.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkpoint, compile, isRoot, noStrays, until, USERS, vdomain, vdomainBackground, vdomainThroughShell, vpidBaseAbovePidMax,
  workDir,
} from './helpers';

const test = suite('fd state');

/** The two kinds of domain: identity (as the kernel gives), and remapped on purpose. */
const DOMAINS: { label: string; run: string[] }[] = [
  { label: 'identity', run: [] },
  { label: 'remapped', run: ['--vpid-base', String(vpidBaseAbovePidMax())] },
];

/**
 * Runs argv in a domain until it prints "ready", checkpoints it with --kill, and
 * restores it in the foreground with `input` on its stdin; wrap: for both.
 */
async function roundTrip(uid: number, name: string, runArgs: string[], argv: string[], dir: string, opts: { input?: string; wrap?: string[] } = {}) {
  const job = vdomainBackground(uid, ['run', '--name', name, ...runArgs, '--', ...argv], { wrap: opts.wrap });
  await job.waitFor(/ready/, 30_000);
  const img = path.join(dir, 'img');
  checkpoint(uid, name, img, true);
  await job.exited;
  const r = vdomain(uid, ['restore', img], { input: opts.input ?? 'go\n', wrap: opts.wrap });
  return { img, job, r };
}

for (const { label, uid } of USERS)
  for (const domain of DOMAINS) {
    const tag = `${label}, ${domain.label}`;

    test(`status flags and fd flags of files, O_PATH, pipes, dups and stdio come back (${tag})`, async () => {
      const dir = workDir(uid, 'fdflags');
      const { r } = await roundTrip(uid, `fdflags-${uid}-${domain.label}`, domain.run, [compile('fdflags'), dir], dir);
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout.trim(), 'fdflags PASS');
      noStrays();
    });

    test(`deleted files held open keep contents, size, holes, st_blocks, mode${isRoot && uid === 0 ? ' and owner' : ''}, also where their names are gone (${tag})`, async () => {
      const dir = workDir(uid, 'deleted');
      // as root the files are given to another owner, which the restore gives back
      const argv = [compile('deleted'), dir, ...(uid === 0 ? ['4321'] : [])];
      const { img, r } = await roundTrip(uid, `deleted-${uid}-${domain.label}`, domain.run, argv, dir);
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout.trim(), 'deleted PASS');
      // the 1 GiB file's 4 MiB of data are saved, not its holes
      const bytes = fs.readdirSync(img).reduce((n, f) => n + fs.statSync(path.join(img, f)).size, 0);
      assert.ok(bytes < 64 << 20, `the image holds ${bytes} bytes`);
      noStrays();
    });

    test(`a deleted directory held open is refused at checkpoint, the job runs on (${tag})`, async () => {
      await refused(uid, `deldir-${uid}-${domain.label}`, domain.run, 'refuse-dir', /pid \d+ fd \d+: directory .*adir \(deleted\): deleted while open — not supported$/m);
    });

    if (uid === 0)
      test(`a deleted device node held open is refused at checkpoint (root only: mknod needs root) (${domain.label})`, async () => {
        await refused(uid, `deldev-${domain.label}`, domain.run, 'refuse-dev', /pid \d+ fd \d+: device node .*null2 \(deleted\): deleted while open — not supported$/m);
      });

    test(`fd 3 inherited from outside is bound to the restoring command's fd 3, or the restore says it is missing (${tag})`, async () => {
      const dir = workDir(uid, 'inherited');
      const name = `inherited-${uid}-${domain.label}`;
      // fd 3: a pipe of the test's (root's when we are root) to cat, whose output we read
      const pipe3 = '"$@" 3>&1 1>&2 | cat';
      const job = vdomainThroughShell(uid, pipe3, ['run', '--name', name, ...domain.run, '--', compile('inherited')]);
      assert.ok(await until(() => /inherited before \d+/.test(job.stdout), 20_000), job.stdout + job.stderr);
      const pid = /inherited before (\d+)/.exec(job.stdout)![1];
      const img = path.join(dir, 'img');
      checkpoint(uid, name, img, true);
      await job.exited;
      // without an fd 3: one line naming it, before any process is made
      const bare = vdomain(uid, ['restore', img], { input: 'go\n' });
      assert.is(bare.status, 14, bare.stderr);  // EXIT.NO_INHERITED_FD
      assert.match(bare.stderr.trim(), /^vdomain: cannot restore: fd 3 \(pipe:\[\d+\]\) came from outside the domain as fd 3 of `vdomain run`; give `vdomain restore` an fd 3 to bind it to/);
      assert.is(bare.stderr.trim().split('\n').length, 1, bare.stderr);
      // with a new pipe on fd 3: the job's write arrives there
      const r = vdomainThroughShell(uid, pipe3, ['restore', img], 'go\n');
      await r.exited;
      assert.is(r.stdout.trim(), `inherited after ${pid} ok`, r.stderr);
      assert.match(r.stderr, /inherited done/);
      noStrays();
    });
  }

/** A job of deleted.c holding what checkpoint refuses: exit 5, one line naming it, no image, the job runs on. */
async function refused(uid: number, name: string, runArgs: string[], what: string, line: RegExp) {
  const dir = workDir(uid, what);
  const job = vdomainBackground(uid, ['run', '--name', name, ...runArgs, '--', compile('deleted'), dir, what]);
  await job.waitFor(/ready/, 20_000);
  const img = path.join(dir, 'img');
  const r = vdomain(uid, ['checkpoint', name, '-o', img, '--kill']);
  assert.is(r.status, 5, r.stderr);
  assert.match(r.stderr, line);
  assert.not.ok(fs.existsSync(img), 'no image');
  job.child.stdin.end('go\n');
  assert.is(await job.exited, 0, job.stderr);
  assert.match(job.stdout, /survived/);
  noStrays();
}

test.run();
