// Images and state directories as an attack surface (issue 21): an unprivileged
// user trying to get root through root's vdomain, and a careless admin. Root and
// nobody are the two parties; each test fails without its fix.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  asUser, checkpoint, CLI, compile, isRoot, modeOf, noStrays, processesMatching, referenceLine, rewriteManifest, stateDirFor,
  until, USERS, vdomain, vdomainBackground, WORK, workDir,
} from './helpers';

const test = suite('security');
const NOBODY = 65534;
/** the other party of `uid` (a uid that is not the test user, when we are not root) */
const otherThan = (uid: number) => (isRoot ? (uid === 0 ? NOBODY : 0) : uid + 1);

/** One line on stderr, naming what is wrong. */
function oneLine(stderr: string, re: RegExp) {
  const lines = stderr.trim().split('\n');
  assert.is(lines.length, 1, `one line: ${stderr}`);
  assert.match(lines[0], re);
}

/** An image of the creds workload, checkpointed (--kill) by uid while it sleeps. */
async function credsImage(uid: number, tag: string): Promise<{ img: string; dir: string; name: string }> {
  const dir = workDir(uid, tag);
  const name = `${tag}-${uid}`;
  const job = vdomainBackground(uid, ['run', '--name', name, '--', compile('creds'), '600']);
  await job.waitFor(/ready/);
  assert.ok(await modeOf(uid, name), 'the domain is up');
  const img = path.join(dir, 'img');
  checkpoint(uid, name, img, true);
  await job.exited;
  return { img, dir, name };
}

const credsLine = (uid: number) => referenceLine('creds', [compile('creds'), '1'], WORK, uid);

/** `vdomain ARGS` as uid with a state directory of our choosing (vdomain() fixes its own). */
function cliEnv(uid: number, vdomainDir: string) {
  return { ...process.env, VDOMAIN_DIR: vdomainDir, HOME: uid === 0 ? process.env.HOME : '/nonexistent' };
}
function vdomainIn(uid: number, vdomainDir: string, args: string[]) {
  const argv = asUser(uid, [process.execPath, CLI, ...args]);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: cliEnv(uid, vdomainDir), timeout: 60_000, input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function vdomainInBackground(uid: number, vdomainDir: string, args: string[]) {
  const argv = asUser(uid, [process.execPath, CLI, ...args]);
  const child = spawn(argv[0], argv.slice(1), { env: cliEnv(uid, vdomainDir), stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c) => (out.stdout += c));
  child.stderr.on('data', (c) => (out.stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, out };
}

/** A state directory of uid's own, at the end of a path `length` bytes long. */
function longStateDir(uid: number, length: number): string {
  const base = path.join(WORK, `long-${uid}`);
  const d = base + '/' + 'd'.repeat(length - base.length - 1);
  fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  if (isRoot) spawnSync('chown', ['-R', `${uid}:${uid}`, base]);
  return d;
}

// ---- 1. whose image it is -----------------------------------------------------

if (isRoot)
  test("root restores nobody's image only when asked, and then as nobody; a crafted one naming root is refused (root: needs both parties)", async () => {
    const { img, dir } = await credsImage(NOBODY, 'owner');
    const r = vdomain(0, ['restore', img]);
    assert.is(r.status, 10, r.stderr);
    oneLine(r.stderr, /belongs to uid 65534.*--as-recorded-user/);
    assert.not.match(r.stdout, /creds/, 'the job did not run');

    // as the recorded user: the job comes back with its own credentials, not root's
    const copy = path.join(dir, 'copy');
    spawnSync('cp', ['-a', img, copy]);
    const as = vdomainIn(0, stateDirFor(NOBODY), ['restore', '--as-recorded-user', img]);
    assert.is(as.status, 0, as.stderr);
    assert.is(as.stdout.trim().split('\n').pop(), credsLine(NOBODY));
    assert.is(credsLine(NOBODY), `creds uid=${NOBODY},${NOBODY},${NOBODY} gid=${NOBODY},${NOBODY},${NOBODY} groups=`);

    // crafted by nobody (its file, rewritten): it records root, or root's group
    rewriteManifest(copy, (m) => (m.domain.uid = 0));
    const crafted = vdomainIn(0, stateDirFor(NOBODY), ['restore', '--as-recorded-user', copy]);
    assert.is(crafted.status, 10, crafted.stderr);
    oneLine(crafted.stderr, /belongs to uid 65534 but records uid 0/);
    rewriteManifest(copy, (m) => Object.assign(m.domain, { uid: NOBODY, groups: [0] }));
    const group = vdomainIn(0, stateDirFor(NOBODY), ['restore', '--as-recorded-user', copy]);
    assert.is(group.status, 10, group.stderr);
    oneLine(group.stderr, /group\(s\) 0, which uid 65534 \(nobody\) is not a member of/);
    assert.is(fs.statSync(path.join(copy, 'manifest.json')).uid, NOBODY, 'the crafted file is still nobody\'s');
    noStrays();
  });

for (const { label, uid } of USERS)
  test(`an image recording another uid, or owned by another user, is refused with exit 10 (${label})`, async () => {
    const { img } = await credsImage(uid, 'recorded');
    rewriteManifest(img, (m) => (m.domain.uid = otherThan(uid)));
    const r = vdomain(uid, ['restore', img]);
    assert.is(r.status, 10, r.stderr);
    oneLine(r.stderr, new RegExp(`checkpointed by uid ${otherThan(uid)}`));
    if (uid !== 0) {
      const asked = vdomain(uid, ['restore', '--as-recorded-user', img]);
      assert.is(asked.status, 10, asked.stderr);
      oneLine(asked.stderr, /only root may restore another user's image/);
    }
    if (isRoot) {
      // the other party's own, untouched image
      const theirs = await credsImage(otherThan(uid), 'theirs');
      const t = vdomain(uid, ['restore', theirs.img]);
      assert.is(t.status, 10, t.stderr);
      oneLine(t.stderr, new RegExp(`belongs to uid ${otherThan(uid)}`));
    }
    noStrays();
  });

if (isRoot)
  test('a root job that changed its own uid comes back with the uid it changed to, not root (root: only root can change it)', async () => {
    const dir = workDir(0, 'setuid');
    const name = 'setuid-0';
    const job = vdomainBackground(0, ['run', '--name', name, '--', 'setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', compile('creds'), '200']);
    await job.waitFor(/ready/);
    assert.ok(await modeOf(0, name));
    const r = vdomain(0, ['checkpoint', name, '-o', path.join(dir, 'img'), '--kill']);
    assert.is(r.status, 0, r.stderr);
    assert.is(await job.exited, 75, job.stderr);
    const back = vdomain(0, ['restore', path.join(dir, 'img')]);
    assert.is(back.status, 0, back.stderr);
    assert.is(back.stdout.trim().split('\n').pop(), credsLine(NOBODY), 'its own credentials, not root\'s');
    noStrays();
  });

// ---- 2. the image's domain name -----------------------------------------------

for (const { label, uid } of USERS)
  test(`an image whose domain name is not a valid --name is refused with exit 7 (${label})`, async () => {
    const { img } = await credsImage(uid, 'badname');
    const state = stateDirFor(uid);
    for (const bad of ['../escaped', '', 'a/b', 'x'.repeat(65), '.hidden', 7]) {
      rewriteManifest(img, (m) => (m.domain.name = bad));
      const r = vdomain(uid, ['restore', img]);
      assert.is(r.status, 7, `${JSON.stringify(bad)}: ${r.stderr}`);
      oneLine(r.stderr, /bad domain name .* in the image/);
      assert.not.match(r.stdout, /creds/);
    }
    assert.not.ok(fs.existsSync(path.join(path.dirname(state), 'escaped.sock')), 'no socket outside the state directory');
    assert.not.ok(fs.existsSync(path.join(state, 'escaped.log')), 'no log outside the log directory');
    noStrays();
  });

// ---- 3. long state directories ------------------------------------------------

for (const { label, uid } of USERS)
  test(`a 200-byte state directory and a 64-character name: run, list, checkpoint, restore, run again (${label})`, async () => {
    const state = longStateDir(uid, 200);
    const name = 'n'.repeat(64);
    const dir = workDir(uid, 'long');
    const job = vdomainInBackground(uid, state, ['run', '--name', name, '--', compile('creds'), '600']);
    await until(() => /ready/.test(job.out.stdout), 20_000);
    assert.match(job.out.stdout, /ready/, job.out.stderr);
    const sock = path.join(state, `${name}.sock`);
    assert.ok(sock.length > 108, 'the socket path is longer than sun_path');
    const st = fs.lstatSync(sock);
    assert.ok(st.isSocket());
    assert.is(st.mode & 0o777, 0o600, 'the socket is 0600');
    assert.is(st.uid, uid);
    const list = vdomainIn(uid, state, ['list', '--json']);
    assert.is(list.status, 0, list.stderr);
    assert.equal(JSON.parse(list.stdout).map((d: { name: string }) => d.name), [name]);
    const img = path.join(dir, 'img');
    const ck = vdomainIn(uid, state, ['checkpoint', name, '-o', img, '--kill']);
    assert.is(ck.status, 0, ck.stderr);
    await job.exited;
    assert.not.ok(fs.existsSync(sock), 'the supervisor removed its socket');
    const r = vdomainIn(uid, state, ['restore', img]);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim().split('\n').pop(), credsLine(uid));
    const again = vdomainIn(uid, state, ['run', '--name', name, '--', 'true']);
    assert.is(again.status, 0, again.stderr);
    noStrays();
  });

// ---- 4. what a checkpoint deletes ---------------------------------------------

const present = (p: string) => {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** Plants, as uid, entries named like abandoned partial images of dead writers. */
function plant(uid: number, dir: string): string[] {
  const victim = workDir(uid, 'victim');
  fs.writeFileSync(path.join(victim, 'precious'), 'x');
  const file = path.join(dir, `.img.partial-4194999-deadbeef`);
  const folder = path.join(dir, `.img.partial-4194998-cafebabe`);
  const link = path.join(dir, `.img.partial-4194997-01234567`);
  fs.writeFileSync(file, 'x');
  fs.mkdirSync(folder);
  fs.writeFileSync(path.join(folder, '.vdomain-partial'), '4194998\n');  // even with the marker
  fs.symlinkSync(victim, link);
  if (isRoot) for (const p of [file, folder, path.join(folder, '.vdomain-partial'), link]) fs.lchownSync(p, uid, uid);
  return [file, folder, link, path.join(victim, 'precious')];
}

for (const { label, uid } of USERS)
  test(`a checkpoint in a world-writable directory removes only its own abandoned partial images; a dangling symlink at the target is exit 9 (${label})`, async () => {
    const dir = workDir(uid, 'shared');
    fs.chmodSync(dir, 0o777);
    const planted = isRoot ? plant(otherThan(uid), dir) : [];
    // an abandoned one of our own, as a killed supervisor leaves it
    const mine = path.join(dir, '.old.partial-4194996-89abcdef');
    fs.mkdirSync(mine, { mode: 0o700 });
    fs.writeFileSync(path.join(mine, '.vdomain-partial'), '4194996\n');
    fs.writeFileSync(path.join(mine, 'pages-1.bin'), 'x');
    if (isRoot) spawnSync('chown', ['-R', `${uid}:${uid}`, mine]);

    const name = `shared-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', compile('creds'), '600']);
    await job.waitFor(/ready/);
    assert.ok(await modeOf(uid, name));
    const dangling = path.join(dir, 'img-link');
    fs.symlinkSync(path.join(WORK, 'no-such-dir', 'img'), dangling);
    const d = vdomain(uid, ['checkpoint', name, '-o', dangling]);
    assert.is(d.status, 9, d.stderr);
    oneLine(d.stderr, /already exists \(a dangling symlink\)/);
    assert.ok(await modeOf(uid, name), 'the job runs on');

    checkpoint(uid, name, path.join(dir, 'img'), true);
    await job.exited;
    for (const p of planted) assert.ok(present(p), `${p} is still there`);
    assert.not.ok(fs.existsSync(mine), 'our own leftover is gone');
    assert.not.ok(fs.existsSync(path.join(dir, 'img', '.vdomain-partial')), 'a whole image has no marker');
    const r = vdomain(uid, ['restore', path.join(dir, 'img')]);
    assert.is(r.status, 0, r.stderr);
    noStrays();
  });

// ---- 6. one line instead of a stack trace -------------------------------------

if (isRoot)
  test('a state directory of another user: list and run exit 11 with one line (root: needs both parties)', () => {
    for (const uid of [0, NOBODY]) {
      const theirs = stateDirFor(otherThan(uid));
      fs.mkdirSync(theirs, { recursive: true, mode: 0o700 });
      fs.chownSync(theirs, otherThan(uid), otherThan(uid));
      for (const args of [['list'], ['run', '--', 'true']]) {
        const r = vdomainIn(uid, theirs, args);
        assert.is(r.status, 11, `${uid} ${args}: ${r.stderr}`);
        oneLine(r.stderr, new RegExp(`belongs to uid ${otherThan(uid)}, not to you`));
      }
    }
  });

const unprivileged = USERS.find((u) => u.uid !== 0);
if (unprivileged)
  test('a dead socket that list cannot remove: exit 11, one line (unprivileged: root may unlink anywhere)', () => {
    const uid = unprivileged.uid;
    const state = path.join(WORK, `stale-state-${uid}`);
    fs.mkdirSync(state, { mode: 0o700 });
    if (isRoot) fs.chownSync(state, uid, uid);
    const bind = asUser(uid, ['/usr/bin/python3', '-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path.join(state, 'dead.sock'))})`]);
    assert.is(spawnSync(bind[0], bind.slice(1)).status, 0);
    const chmod = asUser(uid, ['chmod', '0500', state]);
    spawnSync(chmod[0], chmod.slice(1));
    const r = vdomainIn(uid, state, ['list']);
    assert.is(r.status, 11, r.stderr);
    oneLine(r.stderr, /dead\.sock: the socket of a supervisor that is gone, which cannot be removed \(EACCES\)/);
  });

test('a supervisor killed mid-checkpoint: the checkpoint says so in one line, exit 12', async () => {
  const uid = USERS[USERS.length - 1].uid;
  const memjob = compile('bench/memjob');
  const dir = workDir(uid, 'gone');
  const name = `gone-${uid}`;
  const job = vdomainBackground(uid, ['run', '--name', name, '--', memjob, '300']);
  await job.waitFor(/ready/, 60_000);
  const ck = vdomainBackground(uid, ['checkpoint', name, '-o', path.join(dir, 'img')]);
  await until(() => fs.readdirSync(dir).some((n) => n.startsWith('.img.partial-')), 20_000);
  process.kill(job.child.pid!, 'SIGKILL');
  assert.is(await ck.exited, 12, ck.stderr);
  oneLine(ck.stderr, /its supervisor ended during the checkpoint/);
  await job.exited;
  // the identity job outlives its supervisor (decision 0006); its stdin closed, it ends
  for (const pid of processesMatching(memjob)) process.kill(pid, 'SIGKILL');
  await until(() => !processesMatching(memjob).length, 5000);
  noStrays();
});

// ---- 7. inspect and terminal escapes ------------------------------------------

for (const { label, uid } of USERS)
  test(`inspect shows an image's control characters escaped; --json keeps them exact (${label})`, async () => {
    const { img } = await credsImage(uid, 'escapes');
    const comm = 'evil\x1b]0;owned\x07';
    const arg = '\x1b[2J\u009b31m\u202e';
    const cwd = '/tmp/\x1b[1mbold';
    rewriteManifest(img, (m) => {
      m.processes[0].comm = comm;
      m.processes[0].cmdline = [m.processes[0].cmdline[0], arg];
      m.processes[0].cwd = cwd;
      m.domain.command = [arg];
    });
    const text = vdomain(uid, ['inspect', img]);
    assert.is(text.status, 0, text.stderr);
    assert.not.match(text.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/, 'no control character reaches the terminal');
    assert.match(text.stdout, /evil\\x1b\]0;owned\\x07/);
    assert.match(text.stdout, /\\x9b31m\\u202e/);
    const json = vdomain(uid, ['inspect', '--json', img]);
    assert.is(json.status, 0, json.stderr);
    const s = JSON.parse(json.stdout);
    assert.is(s.processes[0].comm, comm);
    assert.equal(s.domain.command, [arg]);
  });

test.run();
