// The image checksums (native/core/checksum.cc): CRC-32C computed in three
// interleaved streams and, for files, on two threads, each combined back into the
// one CRC of the whole, checked against a plain table-driven CRC-32C; and the
// manifest's SHA-256, checked against node:crypto.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
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

test('SHA-256 as node:crypto has it, at every padding boundary and beyond', () => {
  assert.is(native().sha256(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 65537, 1 << 20]) {
    const data = randomBytes(n);
    assert.is(native().sha256(data), createHash('sha256').update(data).digest('hex'), `${n} bytes`);
  }
});

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
