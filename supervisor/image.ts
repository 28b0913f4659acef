// The image directory on disk. Written so that a crash or a failure never leaves
// something that looks like a whole image: page files and manifest go into a
// hidden temporary sibling, are fsynced, and the directory is renamed into place
// last. Read back only after every file checks out: the manifest against its own
// SHA-256, every page file against its size and CRC-32C.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, UserError } from '../cli/errors';
import { IMAGE_FORMAT, ImageManifest, MANIFEST_NAME, READABLE_VERSIONS, SYSV_FILE, SYSV_FILE_HEADER, SYSV_OBJECT_HEADER } from './manifest';
import { native } from './native';
import { InvalidManifest, validateManifest } from './validate';

/** Written first into every temporary image directory: proof that it is one of ours. */
const PARTIAL_MARKER = '.vdomain-partial';

/** Is anything at p, a dangling symlink included? */
function entryExists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Checks the output location and makes the hidden temporary directory beside it. */
export function prepareImageDir(out: string): { tmp: string; final: string } {
  const final = path.resolve(out);
  if (entryExists(final)) {
    const link = fs.lstatSync(final).isSymbolicLink() && !fs.existsSync(final);
    throw new UserError(`${out}: already exists${link ? ' (a dangling symlink)' : ''}`, EXIT.OUTPUT);
  }
  const parent = path.dirname(final);
  try {
    if (!fs.statSync(parent).isDirectory()) throw new UserError(`${parent}: not a directory`, EXIT.OUTPUT);
    fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${parent}: ${code === 'ENOENT' ? 'no such directory' : 'cannot write there'}`, EXIT.OUTPUT);
  }
  removeAbandoned(parent);
  // the writer's PID in the name: a later checkpoint can tell an abandoned one
  const tmp = path.join(parent, `.${path.basename(final)}.partial-${process.pid}-${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}`);
  try {
    fs.mkdirSync(tmp, { mode: 0o700 });
    fs.writeFileSync(path.join(tmp, PARTIAL_MARKER), `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    discardImageDir(tmp);
    throw new UserError(`${parent}: cannot create the image there (${(e as Error).message})`, EXIT.OUTPUT);
  }
  return { tmp, final };
}

/**
 * Temporary image directories here whose writer is gone (a supervisor killed
 * mid-checkpoint). Only those provably ours: a real directory (not a symlink) of
 * our uid holding our marker file. The parent may be world-writable: anything
 * else named like one is another user's, and never touched.
 */
function removeAbandoned(parent: string) {
  let names: string[] = [];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  const uid = process.getuid?.() ?? 0;
  const ours = (p: string, dir: boolean) => {
    try {
      const st = fs.lstatSync(p);
      return st.uid === uid && (dir ? st.isDirectory() : st.isFile());
    } catch {
      return false;
    }
  };
  for (const n of names) {
    const pid = Number(/^\..+\.partial-(\d+)-[0-9a-f]{8}$/.exec(n)?.[1]);
    if (!pid || pid === process.pid) continue;
    const p = path.join(parent, n);
    if (!ours(p, true) || !ours(path.join(p, PARTIAL_MARKER), false)) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') discardImageDir(p);
    }
  }
}

export function discardImageDir(dir: string) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort: a leftover is hidden and never looks whole
  }
}

function fsyncPath(p: string, flags = 'r') {
  const fd = fs.openSync(p, flags);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The manifest file: format and version first (readable before any check), then its checksum and body. */
export function encodeManifest(m: ImageManifest): string {
  const body = JSON.stringify(m);
  const sha256 = native().sha256(Buffer.from(body));
  return `{"format":"${IMAGE_FORMAT}","version":${m.version},"sha256":"${sha256}","manifest":${body}}\n`;
}

/**
 * Completes an image: checksums the files the dumper did not (manifest.files holds
 * those it did), writes the manifest, fsyncs everything and renames tmp → final.
 */
export function commitImage(tmp: string, final: string, manifest: ImageManifest) {
  const files = { ...(manifest.files ?? {}) };
  // a whole image is no longer a partial one (and readImage refuses hidden files)
  fs.rmSync(path.join(tmp, PARTIAL_MARKER), { force: true });
  for (const f of fs.readdirSync(tmp)) {
    const p = path.join(tmp, f);
    if (!fs.statSync(p).isFile() || f === MANIFEST_NAME) continue;
    if (!files[f]) files[f] = native().checksumFile(p);
    fs.chmodSync(p, 0o600);
    fsyncPath(p);
  }
  const m: ImageManifest = { ...manifest, files };
  const mpath = path.join(tmp, MANIFEST_NAME);
  fs.writeFileSync(mpath, encodeManifest(m), { mode: 0o600 });
  fsyncPath(mpath);
  fsyncPath(tmp);
  if (entryExists(final)) throw new UserError(`${final}: appeared while the checkpoint was written`, EXIT.OUTPUT);
  fs.renameSync(tmp, final);
  fsyncPath(path.dirname(final));
}

const bad = (msg: string) => new UserError(msg, EXIT.BAD_IMAGE);

/** A manifest larger than this is refused unread (the biggest real ones are a few MB). */
export const MANIFEST_MAX_BYTES = 256 << 20;

/**
 * Opens a file of an image, which is untrusted: never through a symlink (O_NOFOLLOW),
 * never blocking on a FIFO (O_NONBLOCK), and only a regular file no bigger than
 * maxBytes. The caller closes the descriptor.
 */
export function openImageFile(dir: string, name: string, maxBytes: number): { fd: number; size: number } {
  const p = path.join(dir, name);
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw bad(`${p}: not a regular file (a symbolic link)`);
    throw e;
  }
  const st = fs.fstatSync(fd);
  const what = st.isFile() ? '' : st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : 'a device';
  if (what || st.size > maxBytes) {
    fs.closeSync(fd);
    throw bad(what ? `${p}: not a regular file (${what})` : `${p}: ${st.size} bytes, more than the ${maxBytes} it may have`);
  }
  return { fd, size: st.size };
}

/** The whole of an open image file, at most `size` bytes (what fstat said). */
function readWhole(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  let got = 0;
  for (let n; got < size && (n = fs.readSync(fd, buf, got, size - got, got)) > 0; ) got += n;
  return buf.subarray(0, got);
}

/** manifest.files[name], only if the image lists it (never an inherited property such as "constructor"). */
export function listedFile(m: ImageManifest, name: unknown): { size: number; crc32c: string } | undefined {
  return typeof name === 'string' && Object.hasOwn(m.files, name) ? m.files[name] : undefined;
}

/** Reads and verifies an image; throws a one-line UserError naming what is wrong. */
export function readImage(dir: string): ImageManifest {
  if (!fs.existsSync(dir)) throw new UserError(`${dir}: no such image`, EXIT.NO_IMAGE);
  const mpath = path.join(dir, MANIFEST_NAME);
  let text: string;
  try {
    const { fd, size } = openImageFile(dir, MANIFEST_NAME, MANIFEST_MAX_BYTES);
    try {
      text = readWhole(fd, size).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`${dir}: not a vdomain image (no ${MANIFEST_NAME})`, EXIT.NO_IMAGE);
    // images are 0600: another user's cannot be read
    if (code === 'EACCES') throw new UserError(`${dir}: permission denied (an image is readable by its owner only)`, EXIT.NO_IMAGE);
    throw new UserError(`${mpath}: ${(e as Error).message}`, EXIT.NO_IMAGE);
  }
  const head = /^\{"format":"([^"]*)","version":(\d+),"sha256":"([0-9a-f]{64})","manifest":/.exec(text);
  if (!head) {
    if (!text.includes(IMAGE_FORMAT)) throw new UserError(`${dir}: not a vdomain image`, EXIT.NO_IMAGE);
    throw bad(`${mpath}: damaged (unreadable header)`);
  }
  if (head[1] !== IMAGE_FORMAT) throw bad(`${mpath}: damaged (format '${head[1]}')`);
  const version = Number(head[2]);
  if (!READABLE_VERSIONS.includes(version))
    throw new UserError(`${dir}: image version ${version}; this vdomain reads versions ${READABLE_VERSIONS.slice(0, -1).join(', ')} and ${READABLE_VERSIONS.at(-1)}`, EXIT.IMAGE_VERSION);
  const body = text.slice(head[0].length, text.trimEnd().length - 1);
  if (native().sha256(Buffer.from(body)) !== head[3]) throw bad(`${mpath}: checksum mismatch (damaged)`);
  let m: ImageManifest;
  try {
    m = JSON.parse(body) as ImageManifest;
  } catch {
    throw bad(`${mpath}: damaged (not JSON)`);
  }
  try {
    validateManifest(m);
  } catch (e) {
    if (e instanceof InvalidManifest) throw bad(`${mpath}: damaged (${e.message})`);
    throw e;
  }
  checkShape(m, mpath);
  // from here on a lookup by an image's name finds only what the image lists
  m.files = Object.assign(Object.create(null) as ImageManifest['files'], m.files);
  for (const [name, want] of Object.entries(m.files)) {
    let opened: { fd: number; size: number };
    try {
      opened = openImageFile(dir, name, want.size);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw bad(`${name}: missing or unreadable (${(e as Error).message.replace(/^.*: /, '')})`);
    }
    fs.closeSync(opened.fd);
    if (opened.size !== want.size) throw bad(`${name}: truncated (${opened.size} of ${want.size} bytes)`);
    let got: { size: number; crc32c: string };
    try {
      got = native().checksumFile(path.join(dir, name));
    } catch (e) {
      throw bad(`${name}: missing or unreadable (${(e as Error).message.replace(/^.*: /, '')})`);
    }
    if (got.size !== want.size) throw bad(`${name}: truncated (${got.size} of ${want.size} bytes)`);
    if (got.crc32c !== want.crc32c) throw bad(`${name}: checksum mismatch (damaged)`);
  }
  return m;
}

/** The manifest's structure, enough that restore never trips over it. */
export function checkShape(m: ImageManifest, where: string) {
  if (!READABLE_VERSIONS.includes(m.version) || m.format !== IMAGE_FORMAT) throw bad(`${where}: header and body disagree`);
  if (!Array.isArray(m.processes) || !m.processes.length) throw bad(`${where}: no processes`);
  if (m.zombies !== undefined && !Array.isArray(m.zombies)) throw bad(`${where}: bad zombie list`);
  if (!m.files || typeof m.files !== 'object' || Array.isArray(m.files)) throw bad(`${where}: no file list`);
  if (m.sysv !== undefined) {
    if (!Array.isArray(m.sysv)) throw bad(`${where}: bad SysV object list`);
    const size = m.sysv.reduce((n, o) => n + SYSV_OBJECT_HEADER + o.bytes, SYSV_FILE_HEADER);
    if (m.sysv.length && listedFile(m, SYSV_FILE)?.size !== size) throw bad(`${where}: ${SYSV_FILE} not listed or of the wrong size`);
  }
  for (const f of m.shared ?? []) {
    if (!f.content) continue;
    const file = listedFile(m, f.content.file);
    if (!file) throw bad(`${where}: shared ${f.kind} ${f.path ?? f.pipe}: page file ${f.content.file} not listed`);
    if (f.content.off + f.content.len > file.size)
      throw bad(`${where}: shared ${f.kind} ${f.path ?? f.pipe}: saved contents outside the page file`);
  }
  const shmids = new Set((m.sysv ?? []).filter((o) => o.kind === 'shm').map((o) => o.id));
  for (const p of m.processes) {
    const file = listedFile(m, p.pagesFile);
    if (!file) throw bad(`${where}: pid ${p.vpid}: page file ${p.pagesFile} not listed`);
    if (!Array.isArray(p.vmas) || !Array.isArray(p.fds)) throw bad(`${where}: pid ${p.vpid}: incomplete`);
    for (const v of p.vmas) {
      if (!(v.end > v.start)) throw bad(`${where}: pid ${p.vpid}: bad mapping ${v.start}-${v.end}`);
      if (v.kind === 'sysv-shm' && !shmids.has(v.shmid!)) throw bad(`${where}: pid ${p.vpid}: mapping of SysV segment ${v.shmid}, which the image lacks`);
      for (const [addr, len, off] of v.runs) {
        if (addr < v.start || addr + len > v.end || off + len > file.size)
          throw bad(`${where}: pid ${p.vpid}: page run outside its mapping or page file`);
      }
    }
    for (const f of p.fds)
      if (f.kind === 'copy' && (!f.content || f.content.off + f.content.len > file.size))
        throw bad(`${where}: pid ${p.vpid} fd ${f.fd}: saved contents outside the page file`);
  }
}
