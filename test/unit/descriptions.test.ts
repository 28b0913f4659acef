// Unit tests of domains/descriptions.ts: which fds of a tree are one open file
// description, made once before the tree forks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shareDescriptions } from '../../domains/descriptions';
import type { FdImage, ProcessImage, VmaImage } from '../../supervisor/manifest';

const proc = (vpid: number, fds: Partial<FdImage>[], vmas: Partial<VmaImage>[] = []) =>
  ({
    vpid, pagesFile: `pages-${vpid}.img`, fds: fds.map((f) => ({ flags: 0, cloexec: false, pos: 0, target: '', ...f })),
    vmas: vmas.map((v) => ({ start: 0x10000, end: 0x11000, prot: 'rw-s', kind: 'file-shared', growsdown: false, name: '', offset: 0, runs: [], ...v })),
  }) as unknown as ProcessImage;
const FILE = '0:25:4711';

test('a file held by one fd stays as it is; one held by two (fork) becomes shared, once', () => {
  const a = proc(10, [{ fd: 3, kind: 'path', path: '/tmp/own', desc: '10:3' }, { fd: 4, kind: 'path', path: '/tmp/log', pos: 99, flags: 1, desc: '10:4' }]);
  const b = proc(11, [{ fd: 4, kind: 'path', path: '/tmp/log', pos: 99, flags: 1, desc: '10:4' }]);
  const shared = shareDescriptions([a, b]);
  assert.equal(shared, [{ kind: 'path', flags: 1, pos: 99, path: '/tmp/log', holders: ['10:4', '11:4'] }]);
  assert.is(a.fds[0].kind, 'path');
  assert.equal([a.fds[1].kind, a.fds[1].shared, b.fds[0].kind, b.fds[0].shared], ['shared', 0, 'shared', 0]);
});

test('every pipe end is shared, even held once; the bytes go with the pipe, saved with either end', () => {
  const writer = proc(10, [{ fd: 1, kind: 'pipe', pipe: 77, end: 'w', desc: '10:1', pipeSize: 65536, content: { off: 4096, len: 5 } }]);
  const reader = proc(11, [{ fd: 0, kind: 'pipe', pipe: 77, end: 'r', desc: '11:0' }]);
  const shared = shareDescriptions([reader, writer]);
  assert.is(shared.length, 2);
  assert.equal(shared[0], { kind: 'pipe', flags: 0, pos: 0, pipe: 77, end: 'r', holders: ['11:0'], pipeSize: 65536, content: { file: 'pages-10.img', off: 4096, len: 5 } });
  assert.equal([shared[1].end, shared[1].content], ['w', undefined]);
});

test('a deleted file held by two processes is made once, from the contents its first holder saved', () => {
  const parent = proc(10, [{ fd: 3, kind: 'copy', path: '/tmp/scratch', pos: 290, flags: 2, desc: '10:3', content: { off: 8192, len: 4096 } }]);
  const child = proc(11, [{ fd: 3, kind: 'copy', path: '/tmp/scratch', pos: 290, flags: 2, desc: '10:3' }]);
  const own = proc(12, [{ fd: 5, kind: 'copy', path: '/tmp/other', desc: '12:5', content: { off: 0, len: 10 } }]);
  const shared = shareDescriptions([parent, child, own]);
  assert.equal(shared, [{ kind: 'deleted', flags: 2, pos: 290, path: '/tmp/scratch', holders: ['10:3', '11:3'], content: { file: 'pages-10.img', off: 8192, len: 4096 } }]);
  assert.equal([parent.fds[0].kind, child.fds[0].kind, own.fds[0].kind], ['shared', 'shared', 'copy'], 'one held once stays its own');
});

test('standard streams are never shared entries', () => {
  const a = proc(10, [{ fd: 1, kind: 'stdio', stdio: 1 }]);
  const b = proc(11, [{ fd: 1, kind: 'stdio', stdio: 1 }]);
  assert.equal(shareDescriptions([a, b]), []);
});

test('a deleted file only mapped (sem_open) is one entry of its own, from the contents its first mapping saved', () => {
  const content = { content: { off: 4096, len: 4096 }, extents: [[0, 4096]] as [number, number][], size: 32 };
  const parent = proc(10, [], [{ path: '/dev/shm/sem.x', deletedFile: FILE, fileContent: content }]);
  const child = proc(11, [], [{ path: '/dev/shm/sem.x', deletedFile: FILE }]);
  const shared = shareDescriptions([parent, child]);
  assert.equal(shared, [{ kind: 'deleted', flags: 2, pos: 0, path: '/dev/shm/sem.x', holders: [], content: { file: 'pages-10.img', off: 4096, len: 4096 }, extents: [[0, 4096]], size: 32 }]);
  assert.equal([parent.vmas[0].shared, child.vmas[0].shared, parent.vmas[0].fileContent], [0, 0, undefined]);
});

test('a deleted file mapped and held by one fd: the fd and the mappings are one entry', () => {
  const holder = proc(10, [{ fd: 7, kind: 'copy', path: '/dev/shm/pym-1', file: FILE, desc: '10:7', flags: 2, content: { off: 0, len: 8192 } }],
    [{ path: '/dev/shm/pym-1', deletedFile: FILE }]);
  const child = proc(11, [], [{ path: '/dev/shm/pym-1', deletedFile: FILE }]);
  const other = proc(12, [{ fd: 3, kind: 'copy', path: '/tmp/x', file: '0:25:1', desc: '12:3', content: { off: 0, len: 1 } }]);
  const shared = shareDescriptions([holder, child, other]);
  assert.equal(shared, [{ kind: 'deleted', flags: 2, pos: 0, path: '/dev/shm/pym-1', holders: ['10:7'], content: { file: 'pages-10.img', off: 0, len: 8192 } }]);
  assert.equal([holder.fds[0].kind, holder.vmas[0].shared, child.vmas[0].shared], ['shared', 0, 0]);
  assert.is(other.fds[0].kind, 'copy', 'a deleted file neither mapped nor held twice stays its own');
});

test('a mapping of a deleted file whose contents were not saved is an error, not a silent loss', () => {
  assert.throws(() => shareDescriptions([proc(10, [], [{ path: '/dev/shm/y', deletedFile: FILE }])]), /without its contents/);
});

test('every end of a pty pair is shared, even held once: the master with its pair\'s state, each slave description of its own', () => {
  const pair = { locked: false, packet: false, input: [], output: '' };
  const parent = proc(10, [{ fd: 3, kind: 'pty', desc: '10:3', flags: 2, state: { index: 5, master: true, pair } }]);
  const child = proc(11, [
    { fd: 0, kind: 'pty', desc: '11:0', flags: 2, state: { index: 5, master: false } },
    { fd: 1, kind: 'pty', desc: '11:0', flags: 2, state: { index: 5, master: false } },
  ]);
  const shared = shareDescriptions([parent, child]);
  assert.equal(shared, [
    { kind: 'pty', flags: 2, pos: 0, holders: ['10:3'], pty: { index: 5, master: true, pair } },
    { kind: 'pty', flags: 2, pos: 0, holders: ['11:0', '11:1'], pty: { index: 5, master: false } },
  ]);
  assert.equal([parent.fds[0].shared, child.fds[0].shared, child.fds[1].shared], [0, 1, 1]);
});

test.run();
