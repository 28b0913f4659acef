// Compiles the syscall table (syscalls.ts) into a classic-BPF seccomp program.
//
// Shape, chosen so the kernel's seccomp action cache can prove every unmatched
// syscall "always ALLOW" and skip the filter for it (unmatched calls then cost
// nothing): load arch, load nr, then one inline block per row:
//     jeq nr, 0, <skip block>;  [argument checks];  ret ALLOW;  ret ACTION
// Blocks are inline so every jump is short (8-bit offsets).
import { SYSCALLS, SyscallRow } from './syscalls';

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const X32_SYSCALL_BIT = 0x40000000;

export const RET = {
  KILL_PROCESS: 0x80000000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  ALLOW: 0x7fff0000,
} as const;
const ENOSYS = 38;

// classic BPF opcodes
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;

// struct seccomp_data offsets
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLow = (i: number) => 16 + 8 * i;

export interface Insn { code: number; jt: number; jf: number; k: number }

const ld = (off: number): Insn => ({ code: LD_W_ABS, jt: 0, jf: 0, k: off });
const ret = (k: number): Insn => ({ code: RET_K, jt: 0, jf: 0, k: k >>> 0 });
const jeq = (k: number, jt: number, jf: number): Insn => ({ code: JEQ_K, jt, jf, k: k >>> 0 });

export type DomainMode = 'identity' | 'remapped';

/** The action a matched row takes: notify the supervisor or stop for the ptrace assist. */
export function rowAction(row: SyscallRow, rowIndex: number): number {
  if (row.how === 'trace') return (RET.TRACE | rowIndex) >>> 0;
  return RET.USER_NOTIF;
}

function rowBlock(row: SyscallRow, rowIndex: number): Insn[] {
  const action = ret(rowAction(row, rowIndex));
  const allow = ret(RET.ALLOW);
  const checks: Insn[] = [];
  if (row.passWhenZero && row.passWhenZero.length) {
    // every listed argument 0 → ALLOW; any non-zero → ACTION
    const n = row.passWhenZero.length;
    row.passWhenZero.forEach((arg, i) => {
      checks.push(ld(argLow(arg)));
      const toAction = (n - i - 1) * 2 + 1; // skip the remaining checks and ALLOW
      checks.push(jeq(0, 0, toAction));
    });
    return [...checks, allow, action];
  }
  if (row.onlyArg1 && row.onlyArg1.length) {
    // argument 1 one of the listed values → ACTION, else ALLOW
    const n = row.onlyArg1.length;
    checks.push(ld(argLow(1)));
    row.onlyArg1.forEach((v, i) => checks.push(jeq(v, n - i, 0)));
    return [...checks, allow, action];
  }
  return [action];
}

/** The BPF program for a domain of the given mode. */
export function compileFilter(mode: DomainMode, rows: readonly SyscallRow[] = SYSCALLS): Insn[] {
  if (mode === 'identity') {
    // Nothing to translate (virtual = real), so no filter at all: measured on this
    // kernel, any seccomp filter, even a lone RET_ALLOW, adds ~50 ns to every
    // syscall (docs/decisions/0001-identity-domains-have-no-filter.md).
    return [];
  }
  const prog: Insn[] = [];
  const refuse = RET.ERRNO | ENOSYS;
  prog.push(ld(OFF_ARCH));
  prog.push(jeq(AUDIT_ARCH_X86_64, 1, 0));
  prog.push(ret(refuse)); // i386 calls would bypass translation
  prog.push(ld(OFF_NR));
  prog.push({ code: JGE_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT });
  prog.push(ret(refuse)); // x32 likewise
  rows.forEach((row, i) => {
    const block = rowBlock(row, i);
    if (block.length > 255) throw new Error(`filter block for ${row.name} too long`);
    prog.push(jeq(row.nr, 0, block.length));
    prog.push(...block);
  });
  prog.push(ret(RET.ALLOW));
  if (prog.length > 4096) throw new Error('filter longer than BPF_MAXINSNS');
  return prog;
}

/** struct sock_filter[] as bytes, for the native side. */
export function encodeFilter(prog: Insn[]): Buffer {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/**
 * A tiny interpreter of the programs compileFilter makes (LD/JEQ/JGE/RET only), so
 * the unit tests can check decisions without a kernel.
 */
export function runFilter(prog: Insn[], nr: number, args: number[] = [], arch = AUDIT_ARCH_X86_64): number {
  let a = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const ins = prog[pc];
    switch (ins.code) {
      case LD_W_ABS:
        if (ins.k === OFF_NR) a = nr >>> 0;
        else if (ins.k === OFF_ARCH) a = arch >>> 0;
        else a = (args[(ins.k - 16) / 8] ?? 0) >>> 0;
        break;
      case JEQ_K: pc += a === ins.k ? ins.jt : ins.jf; break;
      case JGE_K: pc += a >= ins.k ? ins.jt : ins.jf; break;
      case RET_K: return ins.k;
      default: throw new Error(`unknown opcode ${ins.code}`);
    }
  }
  throw new Error('filter fell off its end');
}
