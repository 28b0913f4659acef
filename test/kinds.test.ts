// Every kind of the kinds table (native/resources/kinds.h) by its own state
// program, native/resources/NAME/test_NAME.c: it sets its state, prints "ready",
// reads a line, checks the state and prints "NAME PASS" or what changed. Each is
// run uninterrupted (it passes), made to change its state itself ("perturb": its
// check must then fail), checkpointed with --kill and restored, checkpointed and
// restored beside its running original (remapped PIDs, the original also passes),
// and made to hold one of its fds twice ("shared": refused by name, the job runs
// on); identity and remapped domains, as root and as an unprivileged user.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkpoint, compile, noStrays, ROOT, USERS, vdomain, vdomainBackground, vpidBaseAbovePidMax, workDir } from './helpers';

const test = suite('kinds');

const RESOURCES = path.join(ROOT, 'native', 'resources');
const ALL_KINDS = fs
  .readdirSync(RESOURCES)
  .filter((k) => fs.existsSync(path.join(RESOURCES, k, `test_${k}.c`)))
  .sort();
// VD_KINDS=epoll,timerfd: only those (while working on one)
const KINDS = ALL_KINDS.filter((k) => !process.env.VD_KINDS || process.env.VD_KINDS.split(',').includes(k));

const DOMAINS: { label: string; run: string[] }[] = [
  { label: 'identity', run: [] },
  { label: 'remapped', run: ['--vpid-base', String(vpidBaseAbovePidMax())] },
];

// the kinds of fd (native/resources/kinds.h); the other kinds' state programs
// (memory: shared between processes) have no fd to hold twice
const FD_KINDS = /#define VD_FD_KINDS\(X\)(.*)/
  .exec(fs.readFileSync(path.join(RESOURCES, 'kinds.h'), 'utf8'))![1]
  .match(/X\((\w+)\)/g)!
  .map((x) => x.slice(2, -1));

test('the kinds table names every kind folder that has a state program, and each is listed there', () => {
  assert.ok(ALL_KINDS.length > 0);
  for (const k of FD_KINDS) assert.ok(ALL_KINDS.includes(k), `kind ${k} has no native/resources/${k}/test_${k}.c`);
});

for (const kind of KINDS) {
  const program = () => compile(`native/resources/${kind}/test_${kind}`);
  const pass = new RegExp(`^${kind} PASS$`, 'm');
  const source = fs.readFileSync(path.join(RESOURCES, kind, `test_${kind}.c`), 'utf8');
  // a kind whose state program says `// shared: kept` is restored shared too
  // (one description held by several fds: its keeper makes it once)
  const shareable = /^\/\/ shared: kept$/m.test(source);

  test(`${kind}: its state program passes uninterrupted, and fails when its state is changed`, () => {
    const ok = spawnSync(program(), [], { input: 'go\n', encoding: 'utf8', timeout: 20_000 });
    assert.is(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, pass);
    const changed = spawnSync(program(), ['perturb'], { input: 'go\n', encoding: 'utf8', timeout: 20_000 });
    assert.is.not(changed.status, 0, changed.stdout);
    assert.match(changed.stdout, new RegExp(`^${kind} changed: `, 'm'));
  });

  for (const { label, uid } of USERS)
    for (const domain of DOMAINS) {
      const tag = `${label}, ${domain.label}`;

      for (const arg of shareable ? ['', 'shared'] : [''])
      test(`${kind}: restored after checkpoint --kill, its state as it was${arg ? ', held by several fds' : ''} (${tag})`, async () => {
        const dir = workDir(uid, `kind-${kind}${arg}`);
        const name = `kind-${kind}${arg}-${uid}-${domain.label}`;
        const job = vdomainBackground(uid, ['run', '--name', name, ...domain.run, '--', program(), ...(arg ? [arg] : [])]);
        await job.waitFor(/ready/, 30_000);
        const img = path.join(dir, 'img');
        checkpoint(uid, name, img, true);
        await job.exited;
        const r = vdomain(uid, ['restore', img], { input: 'go\n' });
        assert.is(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, pass);
        noStrays();
      });

      test(`${kind}: restored beside its running original, both with their state (${tag})`, async () => {
        const dir = workDir(uid, `kind-${kind}-beside`);
        const name = `kind-${kind}-beside-${uid}-${domain.label}`;
        const job = vdomainBackground(uid, ['run', '--name', name, ...domain.run, '--', program()]);
        await job.waitFor(/ready/, 30_000);
        const img = path.join(dir, 'img');
        checkpoint(uid, name, img, false);
        const r = vdomain(uid, ['restore', img], { input: 'go\n' });
        job.child.stdin.end('go\n');
        assert.is(await job.exited, 0, job.stdout + job.stderr);
        assert.match(job.stdout, pass);
        assert.is(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, pass);
        noStrays();
      });

      // what the kind refuses: lines `// refused "ARG": MESSAGE` of its state program
      for (const [, arg, message] of source.matchAll(/^\/\/ refused "(\w+)": (.+)$/gm))
        test(`${kind}: refused at checkpoint when ${arg}, by name, the job runs on with its state (${tag})`, async () => {
          const dir = workDir(uid, `kind-${kind}-${arg}`);
          const name = `kind-${kind}-${arg}-${uid}-${domain.label}`;
          const job = vdomainBackground(uid, ['run', '--name', name, ...domain.run, '--', program(), arg]);
          await job.waitFor(/ready/, 30_000);
          const img = path.join(dir, 'img');
          const r = vdomain(uid, ['checkpoint', name, '-o', img, '--kill']);
          assert.is(r.status, 5, r.stderr);
          // (a kind of fd names the fd and itself; another kind what it is)
          assert.match(r.stderr, new RegExp(FD_KINDS.includes(kind) ? `pid \\d+ fd \\d+: ${kind}.*${message}` : `pid \\d+ .*${message}`));
          assert.not.ok(fs.existsSync(img), 'no image');
          job.child.stdin.end('go\n');
          assert.is(await job.exited, 0, job.stdout + job.stderr);
          assert.match(job.stdout, pass);
          noStrays();
        });

      if (FD_KINDS.includes(kind) && !shareable) test(`${kind}: one held by two fds is refused at checkpoint by name, the job runs on (${tag})`, async () => {
        const dir = workDir(uid, `kind-${kind}-shared`);
        const name = `kind-${kind}-shared-${uid}-${domain.label}`;
        const job = vdomainBackground(uid, ['run', '--name', name, ...domain.run, '--', program(), 'shared']);
        await job.waitFor(/ready/, 30_000);
        const img = path.join(dir, 'img');
        const r = vdomain(uid, ['checkpoint', name, '-o', img, '--kill']);
        assert.is(r.status, 5, r.stderr);
        assert.match(r.stderr, new RegExp(`pid \\d+ fd \\d+: ${kind} held by 2 fds \\(dup or fork\\) — sharing it is not supported yet`));
        assert.not.ok(fs.existsSync(img), 'no image');
        job.child.stdin.end('go\n');
        assert.is(await job.exited, 0, job.stdout + job.stderr);
        assert.match(job.stdout, pass);
        noStrays();
      });
    }
}

test.run();
