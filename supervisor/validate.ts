// The whole manifest checked against its format (supervisor/manifest.ts) before
// anything of it is used: an image is untrusted input, and a valid checksum proves
// nothing (anyone can compute one). Types, ranges, lengths and the links between
// parts (parents, shared descriptions, page runs inside their mapping and their
// page file). Pure: no file system, no kernel. Keys it does not know are ignored,
// so an image with newer optional fields still passes what is checked here.
import { ImageManifest, SharedFileImage, SYSV_FILE, SYSV_FILE_HEADER, SYSV_OBJECT_HEADER } from './manifest';
import { native } from './native';
import { validName } from './paths';

/** A manifest that breaks the format: the message names the field and what is wrong. */
export class InvalidManifest extends Error {}

const PAGE = 4096;
/** x86-64 user space ends here (TASK_SIZE with 4-level paging, the guard page below it). */
export const USER_END = 0x7ffffffff000;
/** fs/file.c sysctl_nr_open_max on 64-bit: no fd number reaches it. */
const FD_LIMIT = 1 << 30;
const PATH_MAX = 4096;
const STRING_MAX = 1 << 16;
const LIST_MAX = 1 << 20;
const U32 = 0xffffffff;
const REGS_BYTES = 27 * 8;        // struct user_regs_struct
const SIGINFO_BYTES = 128;
const AUXV_MAX_BYTES = 128 * 8;   // plan.h VD_AUXV_WORDS
const CPUSET_MAX_BYTES = 16 * 8;  // plan.h vd_thread.cpus
const TERMIOS_BYTES = 60;         // glibc struct termios
const MAX_THREADS = 4096;         // plan.h VD_MAX_THREADS

type Check = (v: unknown, at: string) => void;

function fail(at: string, what: string): never {
  throw new InvalidManifest(`${at}: ${what}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const int = (min: number, max: number): Check => (v, at) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(at, `not an integer (${JSON.stringify(v)})`);
  if (v < min || v > max) fail(at, `${v} out of range ${min}..${max}`);
};
const finite: Check = (v, at) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, 'not a number');
};
const bool: Check = (v, at) => {
  if (typeof v !== 'boolean') fail(at, 'not true or false');
};
const str = (max = STRING_MAX): Check => (v, at) => {
  if (typeof v !== 'string') fail(at, 'not a string');
  if (v.length > max) fail(at, `longer than ${max}`);
};
const oneOf = (...values: string[]): Check => (v, at) => {
  if (typeof v !== 'string' || !values.includes(v)) fail(at, `not one of ${values.join(', ')}`);
};
const matches = (re: RegExp, what: string): Check => (v, at) => {
  if (typeof v !== 'string' || v.length > 256 || !re.test(v)) fail(at, `not ${what}`);
};
const queueName = matches(/^\/[^/\0]{1,255}$/, 'a queue name /NAME');
const absPath: Check = (v, at) => {
  str(PATH_MAX)(v, at);
  if (!(v as string).startsWith('/') || (v as string).includes('\0')) fail(at, 'not an absolute path without NUL');
};
const noNul = (max = STRING_MAX): Check => (v, at) => {
  str(max)(v, at);
  if ((v as string).includes('\0')) fail(at, 'holds a NUL');
};
const nullable = (c: Check): Check => (v, at) => {
  if (v !== null) c(v, at);
};
const list = (item: Check, max = LIST_MAX): Check => (v, at) => {
  if (!Array.isArray(v)) fail(at, 'not a list');
  if (v.length > max) fail(at, `more than ${max} entries`);
  v.forEach((x, i) => item(x, `${at}[${i}]`));
};
const tuple = (...items: Check[]): Check => (v, at) => {
  if (!Array.isArray(v) || v.length !== items.length) fail(at, `not a list of ${items.length}`);
  items.forEach((c, i) => c(v[i], `${at}[${i}]`));
};
/** An object with these fields (a key ending in '?' may be absent); other keys are ignored. */
const obj = (fields: Record<string, Check>): Check => (v, at) => {
  if (!isObject(v)) fail(at, 'not an object');
  for (const [key, c] of Object.entries(fields)) {
    const optional = key.endsWith('?');
    const k = optional ? key.slice(0, -1) : key;
    if (!Object.hasOwn(v, k) || v[k] === undefined) {
      if (!optional) fail(at, `no '${k}'`);
      continue;
    }
    c(v[k], `${at}.${k}`);
  }
};
const base64 = (min: number, max: number): Check => (v, at) => {
  if (typeof v !== 'string' || v.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) fail(at, 'not base64');
  const n = (v.length / 4) * 3 - (v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0);
  if (n < min || n > max) fail(at, `${n} bytes, not ${min === max ? min : `${min}..${max}`}`);
};
const hexMask = matches(/^(0x)?[0-9a-fA-F]{1,16}$/, 'a 64-bit hex mask');
const u64Decimal: Check = (v, at) => {
  if (typeof v !== 'string' || !/^\d{1,20}$/.test(v) || BigInt(v) > 0xffffffffffffffffn) fail(at, 'not a 64-bit decimal');
};
const userAddr = int(0, USER_END);
/** A process's "kinds": each key a process kind of the kinds table (native/resources/kinds.h), whose
 * state its plan part checks field by field; a kind this build does not know would be lost, so it is refused. */
const kindStates: Check = (v, at) => {
  if (!isObject(v)) fail(at, 'not an object');
  for (const [name, state] of Object.entries(v)) {
    if (!native().processKinds.includes(name)) fail(`${at}.${name}`, 'the state of a kind this vdomain does not know (an image of a newer version?)');
    if (typeof state !== 'object' || state === null) fail(`${at}.${name}`, 'not a list or an object');
  }
};
const pageAddr: Check = (v, at) => {
  userAddr(v, at);
  if ((v as number) % PAGE) fail(at, 'not page-aligned');
};
const anyInt = int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
const size = int(0, Number.MAX_SAFE_INTEGER);
const vpidNum = int(1, 0x3fffffff);   // PID_MAX_LIMIT is 4M; a virtual one may be higher, never past 2^30
const signal = int(1, 64);

const sched = obj({ cpus: nullable(base64(1, CPUSET_MAX_BYTES)), policy: int(0, 7), priority: int(0, 99), ioprio: int(0, 0xffff) });
const altstack = obj({ sp: userAddr, size: size, flags: int(0, U32) });
const id32 = int(0, U32 - 1);
const capMask = matches(/^[0-9a-f]{1,16}$/, 'a hex capability set');
const creds = obj({
  uid: tuple(id32, id32, id32, id32), gid: tuple(id32, id32, id32, id32), groups: list(id32, 65536),
  CapInh: capMask, CapPrm: capMask, CapEff: capMask, CapBnd: capMask, CapAmb: capMask,
});
const threadAttrs = obj({
  pdeathsig: int(0, 64), timerslack: int(0, Number.MAX_SAFE_INTEGER), securebits: int(0, 0xff), mceKill: int(0, 2),
  specStoreBypass: anyInt, specIndirectBranch: anyInt, ioFlusher: bool,
});
const threadFields = {
  comm: str(64),
  regs: base64(REGS_BYTES, REGS_BYTES),
  xstate: base64(576, 1 << 20),  // at least the legacy area and the XSAVE header
  sigmask: hexMask,
  pending: list(base64(SIGINFO_BYTES, SIGINFO_BYTES), 1 << 16),
  rseq: nullable(obj({ addr: userAddr, len: int(0, U32), sig: int(0, U32) })),
  robustList: nullable(obj({ head: userAddr, len: int(0, U32) })),
  clearChildTid: userAddr,
  altstack,
  'sched?': sched,
  'attrs?': threadAttrs,
  'creds?': creds,
};
const deletedFields = {
  'extents?': list(tuple(size, size), 1 << 20), 'size?': size, 'mode?': int(0, 0o7777), 'uid?': id32, 'gid?': id32,
  'memfd?': bool, 'seals?': int(0, 0x2f),
};
const fileKey = matches(/^\d{1,10}:\d{1,10}:\d{1,20}$/, 'a file "MAJOR:MINOR:INODE"');
const vma = obj({
  start: pageAddr, end: pageAddr, prot: matches(/^[r-][w-][x-][ps]$/, 'a permission like rw-p'),
  kind: oneOf('anon', 'file-private', 'file-shared', 'shared-anon', 'sysv-shm', 'vdso', 'vvar', 'vvar_vclock'),
  growsdown: bool, name: str(PATH_MAX + 64), 'path?': absPath, 'offset?': size, 'shmid?': int(0, 0x7fffffff),
  'object?': int(1, Number.MAX_SAFE_INTEGER), 'deletedFile?': fileKey, 'shared?': int(0, LIST_MAX),
  'fileContent?': obj({ content: obj({ off: size, len: size }), ...deletedFields, extents: list(tuple(size, size), 1 << 20), size }),
  'fileSize?': size, 'fileMtimeNs?': matches(/^\d{1,20}$/, 'a decimal time'),
  runs: list(tuple(pageAddr, size, size)),
  'vmFlags?': matches(/^[a-z0-9]{2}( [a-z0-9]{2})*$|^$/, 'VmFlags like "rd wr mr"'),
});
const descKey = matches(/^\d{1,10}:\d{1,10}$/, 'a description "VPID:FD"');
/** The files kind's own fd kinds, and those of the kinds table (whose fields, in "state", the plan builder checks). */
const fdKind: Check = (v, at) => oneOf('path', 'stdio', 'copy', 'pipe', 'shared', ...native().fdKinds)(v, at);
const fdState: Check = (v, at) => {
  if (!isObject(v)) fail(at, 'not an object');
  if (JSON.stringify(v).length > 1 << 16) fail(at, 'larger than 64 KiB');
};
const fd = obj({
  fd: int(0, FD_LIMIT), kind: fdKind, 'state?': fdState, target: str(PATH_MAX + 64), flags: int(0, U32),
  cloexec: bool, pos: size, 'path?': absPath, 'stdio?': int(0, FD_LIMIT), 'content?': obj({ off: size, len: size }), 'desc?': descKey,
  'pipe?': size, 'fifo?': absPath, 'end?': oneOf('r', 'w'), 'pipeSize?': int(0, 1 << 30), 'shared?': int(0, LIST_MAX),
  'file?': fileKey, ...deletedFields,
});
// a pty pair's end (resources/pty/dump_pty.cc; plan_pty.cc checks the pair's fields again as it packs them)
const PTY_MAX_BYTES = 1 << 20;  // pty_image.h VD_PTY_MAX_BYTES
const ptyEnd = obj({
  index: int(0, 1 << 20), master: bool,
  'pair?': obj({
    locked: bool, packet: bool, termios: base64(TERMIOS_BYTES, TERMIOS_BYTES), rows: int(0, 0xffff), cols: int(0, 0xffff),
    xpixel: int(0, 0xffff), ypixel: int(0, 0xffff), mode: int(0, 0o7777), uid: int(0, U32 - 1), gid: int(0, U32 - 1),
    'session?': vpidNum, 'foreground?': int(0, 0x3fffffff),
    input: list(obj({ end: oneOf('line', 'eof', 'partial', 'raw'), data: base64(0, PTY_MAX_BYTES) }), 1 << 12),
    output: base64(0, PTY_MAX_BYTES),
  }),
});
const processShape = obj({
  vpid: vpidNum, pid: vpidNum, vppid: int(0, 0x3fffffff), vpgid: int(0, 0x3fffffff), vsid: int(0, 0x3fffffff),
  exe: str(PATH_MAX), cmdline: list(noNul(1 << 21), 1 << 16), cwd: absPath, umask: int(0, 0o777), nice: int(-20, 19),
  personality: int(0, U32), noNewPrivs: bool, rlimits: list(tuple(u64Decimal, u64Decimal), 16),
  mm: obj(Object.fromEntries(['startCode', 'endCode', 'startData', 'endData', 'startBrk', 'brk', 'startStack', 'argStart', 'argEnd', 'envStart', 'envEnd'].map((k) => [k, userAddr]))),
  auxv: base64(0, AUXV_MAX_BYTES), pendingShared: list(base64(SIGINFO_BYTES, SIGINFO_BYTES), 1 << 16),
  'semUndo?': list(tuple(int(0, 0x7fffffff), int(0, 0xffff), int(-32767, 32767))),
  sigactions: list(obj({ sig: signal, handler: int(0, USER_END), flags: int(0, U32), restorer: userAddr, mask: hexMask }), 64),
  itimers: list(obj({ interval: tuple(int(0, 2 ** 40), int(0, 999_999)), value: tuple(int(0, 2 ** 40), int(0, 999_999)) }), 3),
  'threads?': list(obj({ vtid: vpidNum, tid: vpidNum, ...threadFields }), MAX_THREADS),
  vmas: list(vma), fds: list(fd, 1 << 20), pagesFile: str(255), pagesBytes: size,
  'oomScoreAdj?': int(-1000, 1000), 'loginuid?': int(0, U32), 'subreaper?': bool, 'dumpable?': int(0, 2),
  'membarrier?': int(0, U32), 'thpDisable?': int(0, 0xff), 'mdwe?': int(0, 3), 'mlockFuture?': oneOf('none', 'locked', 'onfault'),
  'kinds?': kindStates,
  'locks?': list(obj({
    fd: int(0, FD_LIMIT), kind: oneOf('posix', 'ofd', 'flock'), type: oneOf('r', 'w'), start: u64Decimal, len: u64Decimal,
  }), 1 << 20),
  ...threadFields,
});
const manifestShape = obj({
  format: str(64), version: int(1, 1000), createdAt: str(64), host: str(256), kernel: str(256), vdomainVersion: str(64),
  // the name becomes paths (socket, log): exactly what --name accepts
  domain: obj({ name: (v, at) => { if (typeof v !== 'string' || !validName(v)) fail(at, `bad domain name ${JSON.stringify(v)} in the image (letters, digits, . _ -; at most 64)`); }, mode: oneOf('identity', 'remapped'), vpidBase: nullable(int(0, 0x3fffffff)), command: list(noNul(1 << 21), 1 << 16), uid: int(0, U32 - 1), 'ipc?': oneOf('own', 'host'), 'gid?': id32, 'groups?': list(id32, 65536) }),
  'root?': vpidNum,
  processes: list(processShape, 1 << 16),
  'zombies?': list(obj({ vpid: vpidNum, vppid: int(0, 0x3fffffff), vpgid: int(0, 0x3fffffff), vsid: int(0, 0x3fffffff), comm: str(64), status: int(0, 0xffff) }), 1 << 16),
  'terminal?': obj({ stdio: int(0, 2), termios: base64(TERMIOS_BYTES, TERMIOS_BYTES), foreground: int(0, 0x3fffffff), 'rows?': int(0, 0xffff), 'cols?': int(0, 0xffff) }),
  'shared?': list(obj({
    kind: oneOf('path', 'pipe', 'deleted', 'mqueue', 'pty'), flags: int(0, U32), pos: size, 'path?': absPath, 'name?': queueName, 'pipe?': size, 'fifo?': absPath, 'end?': oneOf('r', 'w'),
    'pty?': ptyEnd,
    'pipeSize?': int(0, 1 << 30), 'content?': obj({ file: str(255), off: size, len: size }), holders: list(descKey, 1 << 20),
    ...deletedFields,
  })),
  'sysv?': list(obj({
    kind: oneOf('shm', 'sem', 'msg', 'mqueue', 'limits'), key: matches(/^0x[0-9a-f]{8}$/, 'a key 0x…'), id: int(0, 0x7fffffff), mode: int(0, 0o7777),
    uid: int(0, U32 - 1), gid: int(0, U32 - 1), count: size, bytes: size, 'removed?': bool, 'name?': queueName,
  }), 1 << 16),
  files: (v, at) => {
    if (!isObject(v)) fail(at, 'not an object');
    for (const name of Object.keys(v)) {
      if (!/^[^/\0]{1,255}$/.test(name) || name.startsWith('.')) fail(at, `bad file name ${JSON.stringify(name)}`);
      obj({ size, crc32c: matches(/^[0-9a-f]{8}$/, 'a CRC-32C') })(v[name], `${at}[${JSON.stringify(name)}]`);
    }
  },
  'timings?': obj({ frozenMs: finite, dumpMs: finite, totalMs: finite }),
});

/** Throws InvalidManifest naming the first thing wrong; returns the manifest, now known to have its format. */
// A pty's end: one master per pair, with its state; a slave with its master; the
// session it is the terminal of led by a process of the image, its foreground a
// group of that session.
function checkPtyEnd(im: ImageManifest, shared: SharedFileImage[], i: number) {
  const at = `shared[${i}]`;
  const end = shared[i].pty;
  if (!end) fail(at, 'a pty end without its number');
  const masters = shared.filter((s) => s.kind === 'pty' && s.pty?.master && s.pty.index === end.index);
  if (masters.length !== 1) fail(at, `pty ${end.index} has ${masters.length} masters`);
  if (!end.master) {
    if (end.pair) fail(`${at}.pty.pair`, "on a slave (the pair's state is its master's)");
    return;
  }
  const pair = end.pair;
  if (!pair) fail(`${at}.pty`, "a master without its pair's state");
  const bytes = pair.input.reduce((n, c) => n + c.data.length, pair.output.length);
  if ((bytes / 4) * 3 > PTY_MAX_BYTES) fail(`${at}.pty.pair`, 'holding too many bytes');
  pair.input.forEach((c, k) => {
    if (c.end === 'partial' && k !== pair.input.length - 1) fail(`${at}.pty.pair.input[${k}]`, 'an unfinished line before others');
  });
  if (pair.session === undefined) {
    if (pair.foreground !== undefined) fail(`${at}.pty.pair.foreground`, 'without a session');
    return;
  }
  const leader = im.processes.find((p) => p.vpid === pair.session);
  if (!leader || leader.vsid !== leader.vpid) fail(`${at}.pty.pair.session`, `${pair.session} is not a session leader of the image`);
  const members = [...im.processes, ...(im.zombies ?? [])].filter((p) => p.vsid === pair.session);
  if (pair.foreground && !members.some((p) => p.vpgid === pair.foreground))
    fail(`${at}.pty.pair.foreground`, `${pair.foreground} is not a group of session ${pair.session}`);
}

export function validateManifest(m: unknown): ImageManifest {
  manifestShape(m, 'manifest');
  const im = m as ImageManifest;
  const listed = (name: string) => (Object.hasOwn(im.files, name) ? im.files[name] : undefined);

  // tasks: unique virtual PIDs and TIDs; the root, zombies' parents and holders exist
  const tasks = new Set<number>();
  const procs = new Map<number, ImageManifest['processes'][number]>();
  const unique = (id: number, at: string) => {
    if (tasks.has(id)) fail(at, `${id} used twice`);
    tasks.add(id);
  };
  im.processes.forEach((p, i) => {
    unique(p.vpid, `processes[${i}].vpid`);
    procs.set(p.vpid, p);
    (p.threads ?? []).forEach((t, k) => unique(t.vtid, `processes[${i}].threads[${k}].vtid`));
  });
  // a zombie root: the root had exited while its orphans ran on (a daemon's job)
  const exitedRoot = (im.zombies ?? []).some((z) => z.vpid === im.root);
  (im.zombies ?? []).forEach((z, i) => {
    unique(z.vpid, `zombies[${i}].vpid`);
    if (z.vpid === im.root ? z.vppid !== 0 : !procs.has(z.vppid))
      fail(`zombies[${i}].vppid`, z.vpid === im.root ? `an exited root has no parent in the image (${z.vppid})` : `${z.vppid} is not a process of the image`);
  });
  if (im.root !== undefined && !procs.has(im.root) && !exitedRoot) fail('root', `${im.root} is not a process of the image`);
  if (exitedRoot)
    im.processes.forEach((p, i) => {
      if (p.vppid === im.root) fail(`processes[${i}].vppid`, `${p.vppid} is the exited root`);
    });

  // POSIX message queues: an fd of one (or a shared entry) names a queue of the image
  const queues = new Set((im.sysv ?? []).filter((o) => o.kind === 'mqueue').map((o) => o.name));
  const shared = im.shared ?? [];
  shared.forEach((f, i) => {
    const at = `shared[${i}]`;
    if (f.content) {
      const file = listed(f.content.file);
      if (!file) fail(`${at}.content.file`, `page file ${f.content.file} not listed`);
      if (f.content.off + f.content.len > file.size) fail(`${at}.content`, 'outside its page file');
    }
    if ((f.kind === 'path' || f.kind === 'deleted') && !f.path) fail(at, `a ${f.kind} file without a path`);
    // (its contents are copied from a process's page file by that process's keeper child)
    if (f.kind === 'deleted' && !im.processes.some((p) => p.pagesFile === f.content?.file)) fail(at, "a deleted file without its contents in a process's page file");
    if (f.kind === 'pipe' && (f.pipe === undefined || !f.end)) fail(at, 'a pipe without its inode or end');
    if (f.kind === 'mqueue' && !queues.has(f.name ?? '')) fail(at, `message queue ${f.name} is not in the image`);
    if (f.kind === 'pty') checkPtyEnd(im, shared, i);
    const mapped = im.processes.some((p) => p.vmas.some((v) => v.shared === i));
    if (!f.holders.length && !mapped) fail(`${at}.holders`, 'empty');
    if (mapped && f.kind !== 'deleted') fail(at, 'mapped, but not a deleted file');
    for (const h of f.holders) {
      const [vpid, n] = h.split(':').map(Number);
      const held = procs.get(vpid)?.fds.find((x) => x.fd === n);
      if (!held || held.kind !== 'shared' || held.shared !== i) fail(`${at}.holders`, `${h} does not hold it`);
    }
  });

  im.processes.forEach((p, i) => {
    const at = `processes[${i}]`;
    const pages = listed(p.pagesFile);
    if (!pages) fail(`${at}.pagesFile`, `page file ${p.pagesFile} not listed`);
    let last = 0;
    p.vmas.forEach((v, k) => {
      const va = `${at}.vmas[${k}]`;
      if (v.end <= v.start) fail(va, 'empty or reversed');
      if (v.start < last) fail(va, 'not sorted, or overlaps the one before');
      last = v.end;
      const isFile = v.kind === 'file-private' || v.kind === 'file-shared';
      if (isFile && (v.path === undefined || v.offset === undefined)) fail(va, 'a file mapping without path or offset');
      if (isFile && v.offset! % PAGE) fail(`${va}.offset`, 'not page-aligned');
      if (v.kind === 'sysv-shm' && (v.shmid === undefined || v.offset === undefined)) fail(va, 'a SysV mapping without shmid or offset');
      if (v.object !== undefined && v.kind !== 'shared-anon') fail(`${va}.object`, 'on a mapping that is not shared anonymous');
      if (v.shared !== undefined && (!isFile || !v.deletedFile || !shared[v.shared])) fail(`${va}.shared`, 'not a deleted file mapping of a shared entry');
      if (v.deletedFile !== undefined && v.shared === undefined) fail(va, 'a mapping of a deleted file without its shared entry');
      if (v.object !== undefined && (v.offset === undefined || v.offset % PAGE)) fail(`${va}.offset`, 'missing or not page-aligned');
      let runEnd = v.start;
      v.runs.forEach(([addr, len, off], r) => {
        const ra = `${va}.runs[${r}]`;
        if (len <= 0 || len % PAGE) fail(ra, 'length not a positive number of pages');
        if (addr < runEnd || addr + len > v.end) fail(ra, 'outside its mapping, or overlaps the run before');
        if (off + len > pages.size) fail(ra, 'outside its page file');
        runEnd = addr + len;
      });
    });
    const fds = new Set<number>();
    p.fds.forEach((f, k) => {
      const fa = `${at}.fds[${k}]`;
      if (fds.has(f.fd)) fail(`${fa}.fd`, `${f.fd} used twice`);
      fds.add(f.fd);
      if (f.kind === 'stdio' && f.stdio === undefined) fail(fa, 'a standard stream without its index');
      if (f.kind === 'path' && !f.path) fail(fa, 'a path without the path');
      if (f.kind === 'copy' && (!f.path || !f.content)) fail(fa, 'a deleted file without its path or contents');
      if (f.kind === 'copy' && f.content!.off + f.content!.len > pages.size) fail(`${fa}.content`, 'outside the page file');
      if (f.kind === 'pipe') fail(fa, 'a pipe not in the shared list');
      if (native().fdKinds.includes(f.kind) && !f.state) fail(fa, `an fd of kind ${f.kind} without its state`);
      if (f.kind === 'mqueue' && !queues.has(String(f.state?.name))) fail(fa, `message queue ${String(f.state?.name)} is not in the image`);
      if (f.kind === 'shared') {
        const s = f.shared === undefined ? undefined : shared[f.shared];
        if (!s) fail(`${fa}.shared`, `no shared entry ${f.shared}`);
        if (!s.holders.includes(`${p.vpid}:${f.fd}`)) fail(`${fa}.shared`, `shared[${f.shared}] does not list ${p.vpid}:${f.fd}`);
      }
    });
    const sigs = new Set<number>();
    p.sigactions.forEach((a, k) => {
      if (sigs.has(a.sig)) fail(`${at}.sigactions[${k}].sig`, `${a.sig} twice`);
      sigs.add(a.sig);
    });
    if (p.rlimits.length !== 0 && p.rlimits.length !== 16) fail(`${at}.rlimits`, `${p.rlimits.length} pairs, not 16`);
  });

  // SysV objects: unique ids per kind, their file exactly as long as their data
  const sysv = im.sysv ?? [];
  const ids = new Set<string>();
  sysv.forEach((o, i) => {
    if (ids.has(`${o.kind}:${o.id}`)) fail(`sysv[${i}].id`, `${o.kind} ${o.id} twice`);
    ids.add(`${o.kind}:${o.id}`);
    if (o.kind === 'shm' && o.bytes !== o.count) fail(`sysv[${i}]`, `a segment of ${o.count} bytes with ${o.bytes} saved`);
    if (o.kind === 'sem' && (o.bytes !== 2 * o.count || o.count < 1 || o.count > 65536)) fail(`sysv[${i}]`, `a set of ${o.count} semaphores with ${o.bytes} bytes saved`);
    if (o.kind === 'limits' && i !== 0) fail(`sysv[${i}]`, "the namespace's limits after its objects");
    if ((o.kind === 'mqueue') !== (o.name !== undefined)) fail(`sysv[${i}]`, o.kind === 'mqueue' ? 'a message queue without its name' : 'a name on a SysV object');
    if (o.kind === 'mqueue' && sysv.some((q, k) => k < i && q.kind === 'mqueue' && q.name === o.name)) fail(`sysv[${i}].name`, `message queue ${o.name} twice`);
  });
  if (sysv.length) {
    const want = sysv.reduce((n, o) => n + SYSV_OBJECT_HEADER + o.bytes, SYSV_FILE_HEADER);
    if (listed(SYSV_FILE)?.size !== want) fail('sysv', `${SYSV_FILE} not listed or not ${want} bytes`);
  }
  return im;
}
