// File descriptors' state across checkpoint --kill and restore (issue 14): status
// and fd flags of every kind of fd, deleted files held open (mode, owner, holes),
// descriptors inherited from outside the domain, and what checkpoint refuses.
// Each identity and remapped (--vpid-base), as root and as an unprivileged user.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkpoint, compile, isRoot, modeOf, noStrays, USERS, vdomain, vdomainBackground, vpidBaseAbovePidMax, workDir,
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
  }

test.run();
