// `vdomain inspect IMAGE`: what an image holds, for a person (or --json for a
// program). Reads the manifest only: verifying the pages is restore's job, but a
// damaged manifest is reported like restore would.
import { readImage } from './image';
import { ImageManifest, LockImage, ProcessImage, SysvObjectImage, VmaKind, ZombieImage } from './manifest';

export interface ImageSummary {
  path: string;
  createdAt: string;
  host: string;
  kernel: string;
  domain: ImageManifest['domain'];
  processes: {
    vpid: number;
    pid: number;
    vppid: number;
    vpgid: number;
    vsid: number;
    comm: string;
    cmdline: string[];
    cwd: string;
    memory: Partial<Record<VmaKind, { mappings: number; bytes: number; storedBytes: number }>>;
    files: { fd: number; kind: string; target: string; pos: number }[];
    handlers: number[];
    /** its threads besides the main one: virtual TID and name */
    threads: { vtid: number; comm: string }[];
    /** the SysV segments it has attached (ids of `sysv`) */
    sysvAttached: number[];
    /** its SEM_UNDO adjustments: [semid, semaphore, what its exit adds] */
    semUndo: [number, number, number][];
    /** its file locks (OFD and flock ones: with the first holder of their description) */
    locks: LockImage[];
    pagesBytes: number;
  }[];
  zombies: ZombieImage[];
  /** the domain's root (vpid): a zombie when it had exited while its orphans ran on */
  root?: number;
  /** the domain's SysV IPC objects */
  sysv: SysvObjectImage[];
  imageBytes: number;
  timings?: ImageManifest['timings'];
}

function summarize(p: ProcessImage): ImageSummary['processes'][number] {
  const memory: ImageSummary['processes'][number]['memory'] = {};
  for (const v of p.vmas) {
    const m = (memory[v.kind] ??= { mappings: 0, bytes: 0, storedBytes: 0 });
    m.mappings++;
    m.bytes += v.end - v.start;
    m.storedBytes += v.runs.reduce((s, r) => s + r[1], 0);
  }
  return {
    vpid: p.vpid,
    pid: p.pid,
    vppid: p.vppid,
    vpgid: p.vpgid,
    vsid: p.vsid,
    comm: p.comm,
    cmdline: p.cmdline,
    cwd: p.cwd,
    memory,
    files: p.fds.map((f) => ({ fd: f.fd, kind: f.kind, target: f.target, pos: f.pos })),
    handlers: p.sigactions.map((a) => a.sig),
    threads: (p.threads ?? []).map((t) => ({ vtid: t.vtid, comm: t.comm })),
    sysvAttached: [...new Set(p.vmas.filter((v) => v.kind === 'sysv-shm').map((v) => v.shmid!))],
    semUndo: p.semUndo ?? [],
    locks: p.locks ?? [],
    pagesBytes: p.pagesBytes,
  };
}

export function inspectImage(dir: string): ImageSummary {
  const m = readImage(dir);
  return {
    path: dir,
    createdAt: m.createdAt,
    host: m.host,
    kernel: m.kernel,
    domain: m.domain,
    processes: m.processes.map(summarize),
    zombies: m.zombies ?? [],
    root: m.root,
    sysv: m.sysv ?? [],
    imageBytes: Object.values(m.files).reduce((s, f) => s + f.size, 0),
    timings: m.timings,
  };
}

// The image's text (names, command lines, paths) is the job's, untrusted: in text
// output control characters (C0, DEL, C1: terminal escape sequences) and the
// invisible reordering ones are shown escaped. The JSON output stays exact.
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, '0');
export const printable = (s: unknown) =>
  String(s).replace(UNPRINTABLE, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));

// one line per command: an argument with spaces, quotes or newlines is shown quoted
const shellWords = (argv: string[]) => argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : printable(JSON.stringify(a)))).join(' ');

const mb = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} kB`);

export function formatInspect(s: ImageSummary): string {
  const out: string[] = [];
  out.push(`image      ${printable(s.path)}`);
  out.push(`taken      ${printable(s.createdAt)} on ${printable(s.host)} (Linux ${printable(s.kernel)})`);
  out.push(`domain     ${printable(s.domain.name)} (${printable(s.domain.mode)}), uid ${printable(s.domain.uid)}: ${shellWords(s.domain.command)}`);
  out.push(`size       ${mb(s.imageBytes)} of pages and saved files`);
  if (s.timings) out.push(`timings    frozen ${s.timings.frozenMs.toFixed(1)} ms, total ${s.timings.totalMs.toFixed(1)} ms`);
  if (s.processes.length + s.zombies.length > 1) {
    out.push('');
    out.push('   VPID   VPPID   VPGID    VSID  COMMAND');
    const row = (vpid: number, vppid: number, vpgid: number, vsid: number, what: string) =>
      out.push(`${[vpid, vppid, vpgid, vsid].map((n) => String(n).padStart(7)).join(' ')}  ${what}`);
    for (const p of s.processes) row(p.vpid, p.vppid, p.vpgid, p.vsid, printable(p.comm));
    for (const z of s.zombies) row(z.vpid, z.vppid, z.vpgid, z.vsid, `${printable(z.comm)} <${z.vpid === s.root ? 'exited root' : 'zombie'}, wait status ${z.status}>`);
  }
  if (s.sysv.length) {
    out.push('');
    out.push(`SysV IPC and POSIX message queues (${s.domain.ipc === 'own' ? "the domain's own namespace" : "the host's"})`);
    out.push('  kind   key             id  mode   owner         contents');
    for (const o of s.sysv) {
      const what = o.kind === 'shm' ? `${mb(o.count)}${o.removed ? ', removed (IPC_RMID), still attached' : ''}` : o.kind === 'sem' ? `${o.count} semaphores`
        : o.kind === 'mqueue' ? `${printable(o.name ?? '')}: ${o.count} messages` : o.kind === 'limits' ? 'the namespace\'s limits, changed by the job'
        : `${o.count} messages, ${o.bytes} bytes`;
      out.push(`  ${o.kind.padEnd(6)} ${printable(o.key).padEnd(12)} ${String(o.id).padStart(5)}  ${o.mode.toString(8).padStart(4, '0')}  ${`${o.uid}:${o.gid}`.padEnd(12)}  ${what}`);
    }
  }
  for (const p of s.processes) {
    out.push('');
    out.push(`process ${p.vpid} (was pid ${p.pid}, parent ${p.vppid}) ${printable(p.comm)}: ${shellWords(p.cmdline)}`);
    out.push(`  cwd ${printable(p.cwd)}`);
    if (p.threads.length)
      out.push(`  threads    ${p.threads.length + 1}: main, ${p.threads.map((t) => `${t.vtid} ${printable(t.comm)}`).join(', ')}`);
    out.push('  memory     kind           mappings       size     stored');
    for (const [kind, m] of Object.entries(p.memory))
      out.push(`             ${kind.padEnd(14)} ${String(m.mappings).padStart(8)} ${mb(m.bytes).padStart(10)} ${mb(m.storedBytes).padStart(10)}`);
    out.push('  files');
    for (const f of p.files) out.push(`    ${String(f.fd).padStart(4)}  ${printable(f.kind).padEnd(6)} ${printable(f.target)}${f.pos ? ` @${f.pos}` : ''}`);
    if (p.handlers.length) out.push(`  signal handlers: ${p.handlers.join(' ')}`);
    if (p.sysvAttached.length) out.push(`  SysV segments attached: ${p.sysvAttached.join(' ')}`);
    if (p.semUndo.length)
      out.push(`  SEM_UNDO adjustments: ${p.semUndo.map(([id, n, adj]) => `set ${id} #${n} ${adj > 0 ? '+' : ''}${adj}`).join(', ')}`);
    if (p.locks.length)
      out.push(`  file locks: ${p.locks.map((l) => `fd ${l.fd} ${l.kind} ${l.type === 'w' ? 'write' : 'read'}${l.kind === 'flock' ? '' : ` ${l.start}+${l.len === '0' ? 'EOF' : l.len}`}`).join(', ')}`);
  }
  return out.join('\n') + '\n';
}
