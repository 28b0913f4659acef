// Unit tests of the manifest's shape checks (supervisor/image.ts) for the SysV
// part: what restore verifies before it makes any process, without a kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkShape } from '../../supervisor/image';
import { IMAGE_FORMAT, IMAGE_VERSION, ImageManifest, SYSV_FILE, SysvObjectImage } from '../../supervisor/manifest';

const sem: SysvObjectImage = { kind: 'sem', key: '0x00000000', id: 0, mode: 0o600, uid: 0, gid: 0, count: 2, bytes: 4 };
const shm: SysvObjectImage = { kind: 'shm', key: '0x00c0ffee', id: 32768, mode: 0o600, uid: 0, gid: 0, count: 4096, bytes: 4096, removed: false };

function manifest(sysv: SysvObjectImage[] | undefined, sysvSize: number | null, shmid?: number): ImageManifest {
  const vmas = shmid === undefined ? [] : [{ start: 0x10000, end: 0x11000, prot: 'rw-s', kind: 'sysv-shm', growsdown: false, name: '/SYSV00c0ffee (deleted)', shmid, offset: 0, runs: [] }];
  return {
    format: IMAGE_FORMAT,
    version: IMAGE_VERSION,
    processes: [{ vpid: 10, pagesFile: 'pages-10.img', vmas, fds: [] }],
    ...(sysv ? { sysv } : {}),
    files: { 'pages-10.img': { size: 0, crc32c: '00000000' }, ...(sysvSize === null ? {} : { [SYSV_FILE]: { size: sysvSize, crc32c: '00000000' } }) },
  } as unknown as ImageManifest;
}

// native/resources/sysv/sysv_image.h: a 16-byte header, then 48 bytes and the data of each object
const sizeOf = (objects: SysvObjectImage[]) => 16 + objects.reduce((n, o) => n + 48 + o.bytes, 0);

test('an image without SysV objects, or with them and their file, is whole', () => {
  checkShape(manifest(undefined, null), 'm');
  checkShape(manifest([], null), 'm');
  checkShape(manifest([sem, shm], sizeOf([sem, shm]), shm.id), 'm');
});

test('objects listed without their file, or a file of another size, are refused', () => {
  assert.throws(() => checkShape(manifest([sem], null), 'm'), /sysv\.img not listed or of the wrong size/);
  assert.throws(() => checkShape(manifest([sem], sizeOf([sem]) + 1), 'm'), /sysv\.img not listed or of the wrong size/);
});

test('a mapping of a segment the image lacks is refused', () => {
  assert.throws(() => checkShape(manifest([sem], sizeOf([sem]), 7), 'm'), /pid 10: mapping of SysV segment 7, which the image lacks/);
  // a semaphore set with the segment's id is not a segment
  assert.throws(() => checkShape(manifest([{ ...sem, id: 7 }], sizeOf([sem]), 7), 'm'), /SysV segment 7/);
});

test('a SysV list that is not a list is refused', () => {
  assert.throws(() => checkShape({ ...manifest(undefined, null), sysv: {} as unknown as SysvObjectImage[] }, 'm'), /bad SysV object list/);
});

test.run();
