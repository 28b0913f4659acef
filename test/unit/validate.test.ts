// Unit tests of the manifest validator (supervisor/validate.ts): a small whole
// manifest passes, with keys it does not know too; each kind of damage is refused
// with a message naming the field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IMAGE_FORMAT, IMAGE_VERSION, ImageManifest } from '../../supervisor/manifest';
import { InvalidManifest, USER_END, validateManifest } from '../../supervisor/validate';

const b64 = (n: number) => Buffer.alloc(n, 1).toString('base64');
const PAGES = 'pages-10.img';

function task(vtid?: number) {
  return {
    ...(vtid === undefined ? {} : { vtid, tid: vtid + 1000 }),
    comm: 'job', regs: b64(216), xstate: b64(1024), sigmask: '0', pending: [b64(128)],
    rseq: { addr: 0x7f0000001000, len: 32, sig: 0x53053053 }, robustList: null, clearChildTid: 0,
    altstack: { sp: 0, size: 0, flags: 2 }, sched: { cpus: b64(32), policy: 0, priority: 0, ioprio: 0 },
  };
}

function process(vpid: number, vppid: number, pagesFile: string) {
  return {
    vpid, pid: vpid, vppid, vpgid: 10, vsid: 10, exe: '/bin/job', cmdline: ['job'], cwd: '/tmp', umask: 0o22, nice: 0,
    personality: 0, noNewPrivs: false, rlimits: Array.from({ length: 16 }, () => ['0', '18446744073709551615']),
    mm: { startCode: 0x400000, endCode: 0x401000, startData: 0, endData: 0, startBrk: 0, brk: 0, startStack: 0, argStart: 0, argEnd: 0, envStart: 0, envEnd: 0 },
    auxv: b64(64), pendingShared: [], sigactions: [{ sig: 10, handler: 0x401000, flags: 0x4000000, restorer: 0x401100, mask: '0' }],
    itimers: [{ interval: [0, 0], value: [1, 500] }],
    vmas: [
      { start: 0x400000, end: 0x402000, prot: 'r-xp', kind: 'file-private', growsdown: false, name: '/bin/job', path: '/bin/job', offset: 0, fileSize: 9000, fileMtimeNs: '1', runs: [] },
      { start: 0x600000, end: 0x604000, prot: 'rw-p', kind: 'anon', growsdown: false, name: '[heap]', runs: [[0x601000, 4096, 0], [0x603000, 4096, 4096]] },
      { start: 0x7ffd0000, end: 0x7ffd2000, prot: 'r-xp', kind: 'vdso', growsdown: false, name: '[vdso]', runs: [] },
    ],
    fds: [
      { fd: 0, kind: 'stdio', target: '/dev/pts/0', flags: 2, cloexec: false, pos: 0, stdio: 0 },
      { fd: 3, kind: 'shared', target: 'pipe:[77]', flags: 0, cloexec: false, pos: 0, desc: '10:3', pipe: 77, end: 'r', shared: 0 },
    ],
    pagesFile, pagesBytes: 8192,
    ...task(),
    threads: vpid === 10 ? [task(12)] : [],
  };
}

function manifest(): any {
  return {
    format: IMAGE_FORMAT, version: IMAGE_VERSION, createdAt: '2026-01-01T00:00:00Z', host: 'h', kernel: '6.1', vdomainVersion: '0.1.0',
    domain: { name: 'job', mode: 'identity', vpidBase: null, command: ['job'], uid: 0, ipc: 'own' },
    root: 10,
    processes: [process(10, 1, PAGES), process(11, 10, 'pages-11.img')],
    zombies: [{ vpid: 13, vppid: 10, vpgid: 10, vsid: 10, comm: 'z', status: 0 }],
    terminal: { stdio: 0, termios: b64(60), foreground: 10, rows: 24, cols: 80 },
    shared: [{ kind: 'pipe', flags: 0, pos: 0, pipe: 77, end: 'r', pipeSize: 65536, content: { file: PAGES, off: 8192, len: 5 }, holders: ['10:3', '11:3'] }],
    sysv: [{ kind: 'sem', key: '0x00000000', id: 0, mode: 0o600, uid: 0, gid: 0, count: 2, bytes: 4 }],
    files: { [PAGES]: { size: 8197, crc32c: '0123abcd' }, 'pages-11.img': { size: 8192, crc32c: '0123abcd' }, 'sysv.img': { size: 16 + 48 + 4, crc32c: '00000000' } },
    timings: { frozenMs: 1.5, dumpMs: 2, totalMs: 4 },
  };
}

const refused = (edit: (m: any) => void, why: RegExp) => {
  const m = manifest();
  edit(m);
  assert.throws(() => validateManifest(m), (e: Error) => e instanceof InvalidManifest && why.test(e.message), String(why));
};

test('a whole manifest passes, and so do keys it does not know (fields of newer versions)', () => {
  validateManifest(manifest());
  const m = manifest();
  m.newField = { anything: [1, 2] };
  m.processes[0].attributes = 'x';
  m.processes[0].fds[0].locks = [];
  m.processes[0].vmas[1].advice = 'hugepage';
  validateManifest(m);
  // an older image's optional parts absent
  const old = manifest();
  for (const k of ['root', 'zombies', 'terminal', 'shared', 'sysv', 'timings']) delete old[k];
  for (const p of old.processes) {
    delete p.threads;
    delete p.sched;
    p.fds = p.fds.filter((f: any) => f.kind !== 'shared');
  }
  validateManifest(old);
});

test('a process kind\'s state passes to its plan part; a kind this build does not know is refused (its state would be lost)', () => {
  const m = manifest();
  m.processes[0].kinds = { posix_timers: [] };
  validateManifest(m);
  refused((m) => (m.processes[0].kinds = { inotify_of_the_future: [] }), /processes\[0\]\.kinds\.inotify_of_the_future: the state of a kind this vdomain does not know/);
  refused((m) => (m.processes[0].kinds = { posix_timers: 5 }), /kinds\.posix_timers: not a list or an object/);
  refused((m) => (m.processes[0].kinds = []), /kinds: not an object/);
});

test('types, nulls, missing keys and non-integers are refused, naming the field', () => {
  refused((m) => (m.processes = null), /manifest\.processes: not a list/);
  refused((m) => (m.processes[0] = null), /manifest\.processes\[0\]: not an object/);
  refused((m) => delete m.processes[0].vmas, /manifest\.processes\[0\]: no 'vmas'/);
  refused((m) => (m.processes[1].vpid = 11.5), /processes\[1\]\.vpid: not an integer/);
  refused((m) => (m.processes[0].umask = '18'), /umask: not an integer/);
  refused((m) => (m.processes[0].nice = 1e300), /nice: not an integer/);
  refused((m) => (m.processes[0].noNewPrivs = 0), /noNewPrivs: not true or false/);
  refused((m) => (m.domain.mode = 'other'), /domain\.mode: not one of/);
  refused((m) => (m.files[PAGES] = null), /files\["pages-10\.img"\]: not an object/);
  refused((m) => (m.files[PAGES].size = -1), /size: -1 out of range/);
  refused((m) => (m.processes[0].comm = 'x'.repeat(100)), /comm: longer than 64/);
  refused((m) => (m.processes[0].cmdline = ['a\0b']), /cmdline\[0\]: holds a NUL/);
  refused((m) => (m.processes[0].cwd = 'relative'), /cwd: not an absolute path/);
  refused((m) => (m.processes[0].vmas[0].path = '/bin/\0job'), /path: not an absolute path without NUL/);
});

test('addresses: user space, page-aligned, mappings sorted and apart, runs inside mapping and page file', () => {
  refused((m) => (m.processes[0].vmas[1].start = 0x600001), /vmas\[1\]\.start: not page-aligned/);
  refused((m) => (m.processes[0].vmas[2].end = USER_END + 4096), /vmas\[2\]\.end: .* out of range/);
  refused((m) => (m.processes[0].vmas[1].end = m.processes[0].vmas[1].start), /vmas\[1\]: empty or reversed/);
  refused((m) => m.processes[0].vmas.reverse(), /not sorted, or overlaps/);
  refused((m) => (m.processes[0].vmas[1].start = 0x401000), /vmas\[1\]: not sorted, or overlaps/);
  refused((m) => (m.processes[0].vmas[1].runs[0][0] = 0x500000), /runs\[0\]: outside its mapping/);
  refused((m) => (m.processes[0].vmas[1].runs[1][1] = 8192), /runs\[1\]: outside its mapping/);
  refused((m) => (m.processes[0].vmas[1].runs[1][2] = 8192), /runs\[1\]: outside its page file/);
  refused((m) => (m.processes[0].vmas[1].runs[0][1] = 100), /runs\[0\]: length not a positive number of pages/);
  refused((m) => (m.processes[0].vmas[1].runs[0] = [0x601000, 4096]), /runs\[0\]: not a list of 3/);
  refused((m) => (m.processes[0].mm.brk = -4096), /mm\.brk: .* out of range/);
  refused((m) => (m.processes[0].vmas[0].offset = 100), /offset: not page-aligned/);
});

test('fds: in range, unique per process, shared entries and holders agree', () => {
  refused((m) => m.processes[0].fds.push({ ...m.processes[0].fds[0] }), /fds\[2\]\.fd: 0 used twice/);
  refused((m) => (m.processes[0].fds[1].fd = -1), /fds\[1\]\.fd: -1 out of range/);
  refused((m) => (m.processes[0].fds[1].fd = 2 ** 31), /out of range/);
  refused((m) => m.processes[0].fds.push({ ...m.processes[0].fds[1], fd: 9, shared: 5 }), /fds\[2\]\.shared: no shared entry 5/);
  refused((m) => (m.shared[0].holders = ['10:3', '11:4']), /holders: 11:4 does not hold it/);
  refused((m) => (m.shared[0].holders = ['10:3']), /shared\[0\] does not list 11:3/);
  refused((m) => delete m.processes[0].fds[0].stdio, /a standard stream without its index/);
  // (0-2, or N ≥ 3: a description inherited as fd N of `vdomain run`)
  refused((m) => (m.processes[0].fds[0].stdio = -1), /stdio: -1 out of range 0\.\./);
  refused((m) => (m.shared[0].content.len = 6), /shared\[0\]\.content: outside its page file/);
});

test('tasks: unique vpids and vtids, parents and the root exist', () => {
  refused((m) => (m.processes[1].vpid = 10), /processes\[1\]\.vpid: 10 used twice/);
  refused((m) => (m.processes[0].threads[0].vtid = 10), /threads\[0\]\.vtid: 10 used twice/);
  refused((m) => (m.zombies[0].vpid = 12), /zombies\[0\]\.vpid: 12 used twice/);
  refused((m) => (m.zombies[0].vppid = 99), /zombies\[0\]\.vppid: 99 is not a process/);
  refused((m) => (m.root = 99), /root: 99 is not a process/);
  refused((m) => (m.processes[0].vpid = 0), /vpid: 0 out of range/);
});

test('an exited root (a daemon\'s job) is a zombie root: no parent, nobody its child', () => {
  // the root 9 exited; 10 and 11 are the orphans it left (10 the keeper's, 11 its child)
  const exited = (m: any) => {
    m.root = 9;
    m.processes[0].vppid = 1;
    m.zombies = [{ vpid: 9, vppid: 0, vpgid: 5, vsid: 5, comm: 'job', status: 768 }];
  };
  const m = manifest();
  exited(m);
  assert.is(validateManifest(m).root, 9);
  refused((x) => (exited(x), (x.zombies[0].vppid = 10)), /zombies\[0\]\.vppid: an exited root has no parent in the image/);
  refused((x) => (exited(x), (x.processes[1].vppid = 9)), /processes\[1\]\.vppid: 9 is the exited root/);
  refused((x) => (x.zombies[0].vppid = 0), /zombies\[0\]\.vppid: 0 is not a process/);
});

test('encoded fields decode to their lengths; signals, rlimits, timers in range', () => {
  refused((m) => (m.processes[0].regs = b64(215)), /regs: 215 bytes, not 216/);
  refused((m) => (m.processes[0].threads[0].regs = 'not base64!'), /threads\[0\]\.regs: not base64/);
  refused((m) => (m.processes[0].pending = [b64(64)]), /pending\[0\]: 64 bytes, not 128/);
  refused((m) => (m.processes[0].auxv = b64(2000)), /auxv: 2000 bytes/);
  refused((m) => (m.processes[0].sched.cpus = b64(200)), /cpus: 200 bytes/);
  refused((m) => (m.terminal.termios = b64(10)), /termios: 10 bytes, not 60/);
  refused((m) => (m.processes[0].sigactions[0].sig = 65), /sig: 65 out of range 1\.\.64/);
  refused((m) => (m.processes[0].sigactions[0].sig = 0), /sig: 0 out of range/);
  refused((m) => m.processes[0].sigactions.push({ ...m.processes[0].sigactions[0] }), /sigactions\[1\]\.sig: 10 twice/);
  refused((m) => (m.processes[0].sigmask = 'zz'), /sigmask: not a 64-bit hex mask/);
  refused((m) => m.processes[0].rlimits.pop(), /rlimits: 15 pairs, not 16/);
  refused((m) => (m.processes[0].rlimits[0][1] = '18446744073709551616'), /rlimits\[0\]\[1\]: not a 64-bit decimal/);
  refused((m) => (m.processes[0].itimers[0].value[1] = 1_000_000), /itimers\[0\]\.value\[1\]: .* out of range/);
  refused((m) => (m.terminal.stdio = 7), /terminal\.stdio: 7 out of range/);
});

test('page files: listed by an own key, plain names; SysV objects sane', () => {
  for (const name of ['constructor', '__proto__', 'toString']) refused((m) => (m.processes[1].pagesFile = name), new RegExp(`page file ${name} not listed`));
  refused((m) => (m.shared[0].content.file = 'valueOf'), /page file valueOf not listed/);
  refused((m) => (m.files['../x'] = { size: 0, crc32c: '00000000' }), /bad file name "\.\.\/x"/);
  refused((m) => (m.files['a\0'] = { size: 0, crc32c: '00000000' }), /bad file name/);
  refused((m) => (m.files[PAGES].crc32c = 'xyz'), /crc32c: not a CRC-32C/);
  refused((m) => (m.sysv[0].count = 3), /a set of 3 semaphores with 4 bytes/);
  refused((m) => m.sysv.push({ ...m.sysv[0] }), /sysv\[1\]\.id: sem 0 twice/);
  refused((m) => (m.sysv[0].key = 'IPC_PRIVATE'), /key: not a key/);
  refused((m) => delete m.files['sysv.img'], /sysv\.img not listed/);
  refused((m) => (m.sysv[0].kind = 'pipe'), /kind: not one of shm, sem, msg, mqueue/);
  // POSIX message queues: each named once, a name only on them
  const queue = { kind: 'mqueue', key: '0x00000000', id: 0, mode: 0o640, uid: 0, gid: 0, count: 0, bytes: 28, name: '/q' };
  refused((m) => m.sysv.push({ ...queue, name: undefined }), /a message queue without its name/);
  refused((m) => (m.sysv[0].name = '/q'), /a name on a SysV object/);
  refused((m) => m.sysv.push({ ...queue, name: 'q' }), /name: not a queue name/);
  refused((m) => m.sysv.push({ ...queue, name: '/a/b' }), /name: not a queue name/);
  refused((m) => m.sysv.push(queue, { ...queue, id: 1 }), /sysv\[2\]\.name: message queue \/q twice/);
  refused((m) => m.sysv.push({ ...m.sysv[0], kind: 'limits' }), /sysv\[1\]: the namespace's limits after its objects/);
});

// a pty pair: the master held by 10 (fd 4), the slave by 11 (fd 4), 11 leading session 11
function withPty(m: any) {
  const pair = {
    locked: false, packet: true, termios: b64(60), rows: 24, cols: 80, xpixel: 0, ypixel: 0, mode: 0o620, uid: 0, gid: 5,
    session: 11, foreground: 11, input: [{ end: 'line', data: b64(3) }, { end: 'partial', data: b64(2) }], output: b64(4),
  };
  m.processes[1].vsid = 11;
  m.processes[1].vpgid = 11;
  m.processes[0].fds.push({ fd: 4, kind: 'shared', target: '/dev/ptmx', flags: 2, cloexec: false, pos: 0, desc: '10:4', shared: 1 });
  m.processes[1].fds.push({ fd: 4, kind: 'shared', target: '/dev/pts/3', flags: 2, cloexec: false, pos: 0, desc: '11:4', shared: 2 });
  m.shared.push({ kind: 'pty', flags: 2, pos: 0, pty: { index: 3, master: true, pair }, holders: ['10:4'] });
  m.shared.push({ kind: 'pty', flags: 2, pos: 0, pty: { index: 3, master: false }, holders: ['11:4'] });
  return m;
}

test('pty pairs: one master with its state per pair, slaves of a master, its session and foreground of the image', () => {
  validateManifest(withPty(manifest()));
  const pty = (edit: (m: any) => void, why: RegExp) => refused((m) => edit(withPty(m)), why);
  pty((m) => (m.shared[2].pty.index = 4), /shared\[2\]: pty 4 has 0 masters/);
  pty((m) => (m.shared[2].pty = { ...m.shared[1].pty }), /shared\[1\]: pty 3 has 2 masters/);
  pty((m) => delete m.shared[1].pty.pair, /a master without its pair's state/);
  pty((m) => (m.shared[2].pty.pair = m.shared[1].pty.pair), /pty\.pair: on a slave/);
  pty((m) => delete m.shared[1].pty, /a pty end without its number/);
  pty((m) => (m.shared[1].pty.pair.termios = b64(59)), /termios: 59 bytes, not 60/);
  pty((m) => (m.shared[1].pty.pair.input[0].end = 'half'), /input\[0\]\.end: not one of/);
  pty((m) => m.shared[1].pty.pair.input.reverse(), /an unfinished line before others/);
  pty((m) => (m.shared[1].pty.pair.session = 12), /session: 12 is not a session leader of the image/);
  pty((m) => (m.shared[1].pty.pair.foreground = 10), /foreground: 10 is not a group of session 11/);
  pty((m) => delete m.shared[1].pty.pair.session, /foreground: without a session/);
});

test.run();
