// The image checksum (native/src/checksum.cc): CRC-32C computed in three
// interleaved streams and, for files, on two threads, each combined back into the
// one CRC of the whole. Checked against a plain table-driven CRC-32C.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { native } from '../../supervisor/native';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function reference(buf: Buffer): string {
  let c = 0xffffffff;
  for (const b of buf) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

test('the check value of CRC-32C', () => {
  assert.is(native().crc32c(Buffer.from('123456789')), 'e3069283');
});

test('buffers of every size class agree with the table-driven CRC', () => {
  // below and above the interleaving threshold, lengths not multiples of 3 or 8
  for (const len of [0, 1, 7, 8, 9, 4095, 65535, 65536, 65537, 196613, 1 << 20, (1 << 20) + 5]) {
    const b = randomBytes(len);
    assert.is(native().crc32c(b), reference(b), `length ${len}`);
  }
});

test('files, split over two threads, agree with the table-driven CRC', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdomain-crc-'));
  try {
    for (const len of [0, 100, (8 << 20) + 12345, 20 << 20]) {
      const b = randomBytes(len);
      const f = path.join(dir, `f${len}`);
      fs.writeFileSync(f, b);
      assert.equal(native().checksumFile(f), { size: len, crc32c: reference(b) }, `length ${len}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
