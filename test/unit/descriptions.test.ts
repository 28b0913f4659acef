// Unit tests of domains/descriptions.ts: which fds of a tree are one open file
// description, made once before the tree forks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shareDescriptions } from '../../domains/descriptions';
import type { FdImage, ProcessImage } from '../../supervisor/manifest';

const proc = (vpid: number, fds: Partial<FdImage>[]) =>
  ({ vpid, pagesFile: `pages-${vpid}.img`, fds: fds.map((f) => ({ flags: 0, cloexec: false, pos: 0, target: '', ...f })) }) as unknown as ProcessImage;

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

test.run();
