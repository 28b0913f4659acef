// A hostile image: one real image of a small job (test/workloads/fuzzjob.c: a few
// mappings, a pipe with bytes in flight, a child, a thread), edited by hand and at
// random with the manifest's checksum recomputed, and files swapped for FIFOs,
// symlinks and directories. `vdomain restore` and `vdomain inspect` must refuse
// each bad image with one line and exit 7 before any process is made, or restore
// it and let it run: never a crash, a stack trace, a hang, a process or an IPC
// object left behind.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkpoint, compile, isRoot, modeOf, noStrays, rewriteManifest, Run, USERS, vdomain, vdomainBackground, workDir } from './helpers';

const test = suite('fuzz');

/** The fuzzjob's image, taken with --kill; DIR/go already made, so a restored job ends at once. */
async function makeImage(uid: number): Promise<{ img: string; work: string }> {
  const work = workDir(uid, 'fuzz');
  const name = `fuzz-${uid}-${process.pid}`;
  const job = vdomainBackground(uid, ['run', '--name', name, '--', compile('fuzzjob'), work]);
  await job.waitFor(/ready/);
  assert.ok(await modeOf(uid, name), 'the domain is up');
  const img = path.join(work, 'img');
  checkpoint(uid, name, img, true);
  await job.exited;
  fs.writeFileSync(path.join(work, 'go'), '');
  return { img, work };
}

let copies = 0;
/** A copy of an image the user owns, to damage. */
function copyOf(img: string, uid: number): string {
  const dir = `${img}-copy${++copies}`;
  fs.cpSync(img, dir, { recursive: true });
  if (isRoot) for (const f of ['', ...fs.readdirSync(dir)]) fs.lchownSync(path.join(dir, f), uid, uid);
  return dir;
}

const pageFileOf = (dir: string) => fs.readdirSync(dir).find((f) => f.startsWith('pages-'))!;

/** What every refusal and every run must look like, whatever the image held. */
function checkOutcome(what: string, r: Run, allowed: number[]) {
  assert.ok(r.status !== null, `${what}: hung or killed (${r.stderr})`);
  assert.not.match(r.stderr, /internal error|TypeError|RangeError|Segmentation|core dumped|\n\s+at /, `${what}: ${r.stderr}`);
  assert.ok(allowed.includes(r.status!), `${what}: exit ${r.status}: ${r.stderr}`);
  if (r.status !== 0) assert.is(r.stderr.trim().split('\n').length, 1, `${what}: not one line: ${r.stderr}`);
}

/** restore and inspect of an image that must be refused as damaged. */
function refused(uid: number, dir: string, why: RegExp) {
  for (const cmd of ['restore', 'inspect']) {
    const t0 = Date.now();
    const r = vdomain(uid, [cmd, dir], { timeoutMs: 20_000 });
    checkOutcome(`${cmd} ${dir}`, r, [7]);
    assert.match(r.stderr, why, `${cmd}: ${r.stderr}`);
    assert.ok(Date.now() - t0 < 10_000, `${cmd} took ${Date.now() - t0} ms`);
  }
}

for (const { label, uid } of USERS) {
  test(`image files that are not regular files, or too big, are refused with one line (${label})`, async () => {
    const { img } = await makeImage(uid);
    const ok = vdomain(uid, ['inspect', img]);
    assert.is(ok.status, 0, ok.stderr);

    const fifo = copyOf(img, uid);
    fs.rmSync(path.join(fifo, 'manifest.json'));
    assert.is(spawnSync('mkfifo', [path.join(fifo, 'manifest.json')]).status, 0);
    refused(uid, fifo, /manifest\.json: not a regular file \(a FIFO\)/);

    const pageFifo = copyOf(img, uid);
    fs.rmSync(path.join(pageFifo, pageFileOf(pageFifo)));
    assert.is(spawnSync('mkfifo', [path.join(pageFifo, pageFileOf(img))]).status, 0);
    refused(uid, pageFifo, /not a regular file \(a FIFO\)/);

    const zero = copyOf(img, uid);
    fs.rmSync(path.join(zero, pageFileOf(zero)));
    fs.symlinkSync('/dev/zero', path.join(zero, pageFileOf(img)));
    refused(uid, zero, /not a regular file \(a symbolic link\)/);

    const linkedManifest = copyOf(img, uid);
    fs.renameSync(path.join(linkedManifest, 'manifest.json'), path.join(linkedManifest, 'real.json'));
    fs.symlinkSync('real.json', path.join(linkedManifest, 'manifest.json'));
    refused(uid, linkedManifest, /manifest\.json: not a regular file \(a symbolic link\)/);

    const directory = copyOf(img, uid);
    fs.rmSync(path.join(directory, pageFileOf(directory)));
    fs.mkdirSync(path.join(directory, pageFileOf(img)));
    refused(uid, directory, /not a regular file \(a directory\)/);

    // bigger than any manifest: refused unread (sparse, so cheap to make)
    const huge = copyOf(img, uid);
    fs.truncateSync(path.join(huge, 'manifest.json'), 300 << 20);
    refused(uid, huge, /manifest\.json: \d+ bytes, more than/);
    noStrays();
  });

  test(`a page file named like a JS object property is not taken as listed (${label})`, async () => {
    const { img } = await makeImage(uid);
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const dir = copyOf(img, uid);
      const pages = pageFileOf(dir);
      fs.renameSync(path.join(dir, pages), path.join(dir, name));
      rewriteManifest(dir, (m) => {
        for (const p of m.processes) if (p.pagesFile === pages) p.pagesFile = name;
        for (const f of m.shared ?? []) if (f.content?.file === pages) f.content.file = name;
        delete m.files[pages];
      });
      refused(uid, dir, new RegExp(`page file ${name} not listed`));
    }
    for (const name of ['../pages', 'a/b', '.hidden', 'nul\0byte']) {
      const dir = copyOf(img, uid);
      rewriteManifest(dir, (m) => {
        m.files[name] = { size: 0, crc32c: '00000000' };
      });
      refused(uid, dir, /bad file name/);
    }
    noStrays();
  });
}

test.run();
