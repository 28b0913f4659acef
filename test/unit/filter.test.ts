// Unit tests of the seccomp filter compiler (domains/filter.ts) and the syscall
// table it is built from (domains/syscalls.ts), without a kernel: decisions are
// checked with the runFilter interpreter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AUDIT_ARCH_X86_64,
  compileFilter,
  encodeFilter,
  Insn,
  RET,
  rowAction,
  runFilter,
  X32_SYSCALL_BIT,
} from '../../domains/filter';
import { formatSyscallTable, NOT_TRANSLATED, rowByName, SYSCALLS, TIOCGPGRP, TIOCGSID, TIOCSPGRP } from '../../domains/syscalls';

const prog = compileFilter('remapped');
const ENOSYS = 38;
const REFUSE = (RET.ERRNO | ENOSYS) >>> 0;
const TCGETS = 0x5401;
const AUDIT_ARCH_I386 = 0x40000003;

// x86-64 numbers of calls that are not in the table
const NR = { read: 0, write: 1, mmap: 9, getuid: 102 } as const;

function indexOf(name: string): number {
  const i = SYSCALLS.findIndex((r) => r.name === name);
  if (i < 0) throw new Error(`no row ${name}`);
  return i;
}
function nrOf(name: string): number {
  const row = rowByName(name);
  if (!row) throw new Error(`no row ${name}`);
  return row.nr;
}
const trace = (name: string) => (RET.TRACE | indexOf(name)) >>> 0;
const decide = (nr: number, args: number[] = [], arch?: number) => runFilter(prog, nr, args, arch);
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

test('answer and open rows are notified to the supervisor', () => {
  for (const name of ['getpid', 'gettid', 'getppid', 'getpgrp', 'getpgid', 'getsid', 'readlink', 'readlinkat', 'open', 'openat']) {
    assert.is(decide(nrOf(name), [7, 7, 7, 7, 7, 7]), RET.USER_NOTIF, name);
  }
});

test('calls outside the table are allowed', () => {
  for (const [name, nr] of Object.entries(NR)) {
    assert.is(decide(nr, [1, 2, 3, 4, 5, 6]), RET.ALLOW, name);
  }
});

test('kill: 0 (own group) passes, a PID traces with the row index', () => {
  const kill = nrOf('kill');
  assert.is(decide(kill, [0, 15]), RET.ALLOW);
  assert.is(decide(kill, [1234, 15]), trace('kill'));
  assert.is(decide(kill, [1234, 15]) & 0xffff, indexOf('kill'));
  assert.is((decide(kill, [1234, 15]) & 0xffff0000) >>> 0, RET.TRACE);
  // -1 and -pgid are not zero: the supervisor decides
  assert.is(decide(kill, [-1, 15]), trace('kill'));
  assert.is(decide(kill, [-1234, 15]), trace('kill'));
});

test('setpgid: (0,0) passes, any non-zero argument traces', () => {
  const setpgid = nrOf('setpgid');
  assert.is(decide(setpgid, [0, 0]), RET.ALLOW);
  assert.is(decide(setpgid, [5, 5]), trace('setpgid'));
  assert.is(decide(setpgid, [5, 0]), trace('setpgid'));
  assert.is(decide(setpgid, [0, 5]), trace('setpgid'));
});

test('arg1-zero rows (getpriority, ioprio_get) look at argument 1 only', () => {
  for (const name of ['getpriority', 'setpriority', 'ioprio_set', 'ioprio_get']) {
    assert.is(decide(nrOf(name), [1, 0, 9]), RET.ALLOW, name);
    assert.is(decide(nrOf(name), [0, 42, 0]), trace(name), name);
  }
});

test('ioctl: only the process-group requests trace', () => {
  const ioctl = nrOf('ioctl');
  for (const req of [TIOCSPGRP, TIOCGPGRP, TIOCGSID]) {
    assert.is(decide(ioctl, [0, req, 0x7ffc0000]), trace('ioctl'), hex(req));
  }
  assert.is(decide(ioctl, [0, TCGETS, 0x7ffc0000]), RET.ALLOW);
  assert.is(decide(ioctl, [0, 0, 0]), RET.ALLOW);
});

test('i386 and x32 calls are refused with ENOSYS', () => {
  assert.is(REFUSE, 0x00050026);
  assert.is(decide(nrOf('getpid'), [], AUDIT_ARCH_I386), REFUSE);
  assert.is(decide(20 /* i386 getpid */, [], AUDIT_ARCH_I386), REFUSE);
  assert.is(decide(NR.read, [], AUDIT_ARCH_I386), REFUSE);
  assert.is(decide((X32_SYSCALL_BIT | 39) >>> 0), REFUSE);
  assert.is(decide((X32_SYSCALL_BIT | NR.read) >>> 0), REFUSE);
  assert.is(decide(0x40000000 | 39, [], AUDIT_ARCH_X86_64), REFUSE);
});

test('wait4, setsid and waitid always trace', () => {
  for (const name of ['wait4', 'setsid', 'waitid']) {
    assert.is(decide(nrOf(name)), trace(name), `${name} no args`);
    assert.is(decide(nrOf(name), [0, 0, 0, 0, 0, 0]), trace(name), `${name} zeros`);
    assert.is(decide(nrOf(name), [-1, 0, 0, 0]), trace(name), `${name} -1`);
  }
});

test('every row of SYSCALLS is reachable and gives its action', () => {
  SYSCALLS.forEach((row, i) => {
    const args = [7, 7, 7, 7, 7, 7];
    if (row.onlyArg1?.length) args[1] = row.onlyArg1[0];
    const expected = row.how === 'trace' ? (RET.TRACE | i) >>> 0 : RET.USER_NOTIF;
    assert.is(rowAction(row, i), expected, row.name);
    assert.is(decide(row.nr, args), expected, row.name);
  });
});

test('every passWhenZero row passes with those arguments 0', () => {
  for (const row of SYSCALLS) {
    if (!row.passWhenZero?.length) continue;
    const args = [7, 7, 7, 7, 7, 7];
    for (const a of row.passWhenZero) args[a] = 0;
    assert.is(decide(row.nr, args), RET.ALLOW, row.name);
    // each listed argument alone non-zero is enough to take the action
    for (const a of row.passWhenZero) {
      const one = [0, 0, 0, 0, 0, 0];
      one[a] = 7;
      assert.is(decide(row.nr, one), rowAction(row, SYSCALLS.indexOf(row)), `${row.name} arg${a}`);
    }
  }
});

test('every onlyArg1 value traces, other requests pass', () => {
  for (const row of SYSCALLS) {
    if (!row.onlyArg1?.length) continue;
    const action = rowAction(row, SYSCALLS.indexOf(row));
    for (const v of row.onlyArg1) assert.is(decide(row.nr, [3, v, 7]), action, `${row.name} ${hex(v)}`);
    assert.is(decide(row.nr, [3, 0x12345678, 7]), RET.ALLOW, row.name);
  }
});

test('compileFilter with a custom table', () => {
  const rows = [
    { name: 'a', nr: 500, how: 'answer' as const, answer: 'getpid' as const },
    { name: 'b', nr: 501, how: 'trace' as const, passWhenZero: [0, 1, 2] },
    { name: 'c', nr: 502, how: 'trace' as const, onlyArg1: [10, 20, 30, 40] },
  ];
  const p = compileFilter('remapped', rows);
  assert.is(runFilter(p, 500), RET.USER_NOTIF);
  assert.is(runFilter(p, 501, [0, 0, 0]), RET.ALLOW);
  assert.is(runFilter(p, 501, [0, 0, 1]), (RET.TRACE | 1) >>> 0);
  assert.is(runFilter(p, 501, [0, 1, 0]), (RET.TRACE | 1) >>> 0);
  assert.is(runFilter(p, 501, [1, 0, 0]), (RET.TRACE | 1) >>> 0);
  for (const v of [10, 20, 30, 40]) assert.is(runFilter(p, 502, [0, v]), (RET.TRACE | 2) >>> 0, String(v));
  assert.is(runFilter(p, 502, [0, 15]), RET.ALLOW);
  assert.is(runFilter(p, 503), RET.ALLOW);
  assert.is(compileFilter('remapped', []).length, 7);
});

test("compileFilter('identity') is empty", () => {
  assert.equal(compileFilter('identity'), []);
});

test('program shape: arch check, x32 check, ALLOW at the end', () => {
  assert.equal(prog[0], { code: 0x20, jt: 0, jf: 0, k: 4 });
  assert.equal(prog[1], { code: 0x15, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 });
  assert.equal(prog[2], { code: 0x06, jt: 0, jf: 0, k: REFUSE });
  assert.equal(prog[3], { code: 0x20, jt: 0, jf: 0, k: 0 });
  assert.equal(prog[4], { code: 0x35, jt: 0, jf: 1, k: X32_SYSCALL_BIT });
  assert.equal(prog[5], { code: 0x06, jt: 0, jf: 0, k: REFUSE });
  assert.equal(prog[prog.length - 1], { code: 0x06, jt: 0, jf: 0, k: RET.ALLOW });
});

test('program length < 4096 and every jump lands inside the program', () => {
  assert.ok(prog.length > 0);
  assert.ok(prog.length < 4096, `length ${prog.length}`);
  prog.forEach((ins, pc) => {
    assert.ok(Number.isInteger(ins.jt) && ins.jt >= 0 && ins.jt < 256, `jt at ${pc}`);
    assert.ok(Number.isInteger(ins.jf) && ins.jf >= 0 && ins.jf < 256, `jf at ${pc}`);
    assert.ok(Number.isInteger(ins.k) && ins.k >= 0 && ins.k <= 0xffffffff, `k at ${pc}`);
    if (ins.code === 0x15 || ins.code === 0x35) {
      assert.ok(pc + 1 + ins.jt < prog.length, `jt target at ${pc}`);
      assert.ok(pc + 1 + ins.jf < prog.length, `jf target at ${pc}`);
    }
  });
  assert.is(prog[prog.length - 1].code, 0x06);
});

test('encodeFilter: 8 bytes per instruction, little-endian code/jt/jf/k', () => {
  const sample: Insn[] = [
    { code: 0x0020, jt: 0, jf: 0, k: 4 },
    { code: 0x0015, jt: 1, jf: 254, k: 0xc000003e },
    { code: 0x0006, jt: 0, jf: 0, k: 0x7fff0000 },
  ];
  const buf = encodeFilter(sample);
  assert.is(buf.length, 24);
  assert.equal(
    [...buf],
    [
      0x20, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
      0x15, 0x00, 0x01, 0xfe, 0x3e, 0x00, 0x00, 0xc0,
      0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f,
    ],
  );
  const full = encodeFilter(prog);
  assert.is(full.length, prog.length * 8);
  prog.forEach((ins, i) => {
    assert.is(full.readUInt16LE(i * 8), ins.code);
    assert.is(full.readUInt8(i * 8 + 2), ins.jt);
    assert.is(full.readUInt8(i * 8 + 3), ins.jf);
    assert.is(full.readUInt32LE(i * 8 + 4), ins.k >>> 0);
  });
  assert.is(encodeFilter([]).length, 0);
});

test('runFilter rejects unknown opcodes and programs without a return', () => {
  assert.throws(() => runFilter([{ code: 0x07, jt: 0, jf: 0, k: 0 }], 0), /unknown opcode/);
  assert.throws(() => runFilter([{ code: 0x20, jt: 0, jf: 0, k: 0 }], 0), /fell off/);
});

test('table: syscall numbers and names are unique', () => {
  const nrs = SYSCALLS.map((r) => r.nr);
  const names = SYSCALLS.map((r) => r.name);
  assert.is(new Set(nrs).size, nrs.length, 'duplicate nr');
  assert.is(new Set(names).size, names.length, 'duplicate name');
  for (const r of SYSCALLS) {
    assert.ok(Number.isInteger(r.nr) && r.nr >= 0 && r.nr < X32_SYSCALL_BIT, r.name);
  }
  assert.ok(SYSCALLS.length < 0x10000, 'row index must fit in SECCOMP_RET_DATA');
});

test('table: answer rows have an answer, trace rows with out have a result', () => {
  for (const r of SYSCALLS) {
    if (r.how === 'answer') assert.ok(r.answer, `${r.name} has no answer`);
    else assert.is(r.answer, undefined, `${r.name} is not an answer row`);
    if (r.how === 'trace' && r.out !== undefined) assert.ok(r.result, `${r.name} has out but no result`);
    if (r.out !== undefined) assert.ok(r.out >= 0 && r.out <= 5, `${r.name} out`);
    for (const a of r.passWhenZero ?? []) assert.ok(a >= 0 && a <= 5, `${r.name} passWhenZero ${a}`);
    assert.ok(!(r.passWhenZero?.length && r.onlyArg1?.length), `${r.name} has both passWhenZero and onlyArg1`);
  }
});

test('well-known numbers', () => {
  const expected: Record<string, number> = {
    getpid: 39, gettid: 186, getppid: 110, openat: 257, kill: 62, setpgid: 109,
    wait4: 61, ioctl: 16, waitid: 247,
  };
  for (const [name, nr] of Object.entries(expected)) assert.is(nrOf(name), nr, name);
  assert.is(TIOCGPGRP, 0x540f);
  assert.is(TIOCSPGRP, 0x5410);
  assert.is(TIOCGSID, 0x5429);
  assert.is(rowByName('no-such-call'), undefined);
});

test('formatSyscallTable lists every row and every untranslated call', () => {
  const text = formatSyscallTable();
  for (const r of SYSCALLS) assert.match(text, new RegExp(`^${r.name} +${r.nr} `, 'm'));
  for (const n of NOT_TRANSLATED) assert.ok(text.includes(n.name), n.name);
  assert.match(text, /^kill +62 +ptrace assist: arg0 pid-or-pgrp$/m);
});

test.run();
