// bench/tree.mjs — checkpoint and restore of process trees, of multithreaded
// processes and of System V IPC objects, in `npm run bench`.
//
// Trees of 2, 16 and 64 processes (bench/treejob.c: a root and its children,
// 64 KB each of their own), a process of 1, 8 and 64 threads
// (bench/threadjob.c: 64 KB each), and a job with a SysV segment of 1, 16 and
// 128 MB beside a queue of 1000 messages and 16 semaphores (bench/sysvjob.c),
// image on tmpfs. Each repetition starts
// `vdomain run -- JOB N`, times `vdomain checkpoint --kill --json` (the
// supervisor's figures: frozen, freeze → image fsynced) and `vdomain restore`
// (image opened → every task running, and the command until the job answers
// after reaping its children or joining its threads). The growth per added
// process or thread is the slope between the first and the last row.
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkpointCycle, fmtMs } from './checkpoint.mjs';
import { median } from './stats.mjs';

const DIR = '/dev/shm';

// The two shapes measured: what runs, and how its rows and table read.
const SHAPES = {
  tree: {
    job: 'treejob', cflags: [], sizes: [2, 16, 64], unit: 'process', header: 'tree',
    label: (n) => `${n} processes`,
    title: 'process trees: vdomain run -- treejob N; checkpoint --kill; restore (image on tmpfs)',
    intro: 'Process trees (median of 5; image on tmpfs; each process 64 KB of its own; "restored" = image opened → every process running):',
    answer: 'restore command until the root answers',
  },
  threads: {
    job: 'threadjob', cflags: ['-pthread'], sizes: [1, 8, 64], unit: 'thread', header: 'process',
    label: (n) => `${n} thread${n > 1 ? 's' : ''}`,
    title: 'multithreaded processes: vdomain run -- threadjob N; checkpoint --kill; restore (image on tmpfs)',
    intro: 'A process of N threads (median of 5; image on tmpfs; each thread 64 KB of its own; "restored" = image opened → every thread running):',
    answer: 'restore command until the job answers',
  },
  sysv: {
    job: 'sysvjob', cflags: [], sizes: [1, 16, 128], unit: 'MB of segment', header: 'job',
    label: (n) => `${n} MB segment`,
    title: 'System V IPC: vdomain run -- sysvjob MB; checkpoint --kill; restore (image on tmpfs)',
    intro: 'System V IPC (median of 5; image on tmpfs; a shared segment of N MB, 1000 messages of 64 bytes, 16 semaphores with SEM_UNDO; the keeper dumps and makes them again; "restored" = image opened → job running):',
    answer: 'restore command until the job has checked them',
  },
};

function cycle(ctx, shape, bin, n) {
  const img = path.join(DIR, `vdomain-bench-${shape.job}-${process.pid}-${n}.vdimg`);
  return checkpointCycle(ctx, [bin, String(n)], `bench-${shape.job}-${process.pid}`, img);
}

const COLUMNS = [
  { header: 'job', get: (r) => r.label },
  { header: 'reps', get: (r) => String(r.reps ?? ''), right: true },
  { header: 'frozen ms', get: (r) => fmtMs(r.frozenMs), right: true },
  { header: 'written ms', get: (r) => fmtMs(r.writtenMs), right: true },
  { header: 'checkpoint ms', get: (r) => fmtMs(r.checkpointMs), right: true },
  { header: 'restored ms', get: (r) => fmtMs(r.restoreMs), right: true },
  { header: 'restore cmd ms', get: (r) => fmtMs(r.answeredMs), right: true },
  { header: 'checks', get: (r) => (r.status !== 'ok' ? `error ${r.error ?? ''}` : '') },
];

async function shapeSection(ctx, kind) {
  const shape = SHAPES[kind];
  const bin = path.join(ctx.bins.dir, shape.job);
  const cc = spawnSync('cc', ['-O2', '-Wall', ...shape.cflags, '-o', bin, path.join(ctx.root, 'bench', `${shape.job}.c`)], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc ${shape.job}.c failed: ${cc.stderr}`);
  const rows = [];
  for (const n of shape.sizes) {
    const id = `${kind}.${n}`;
    if (!ctx.selected(id)) continue;
    const reps = [];
    let error = null;
    for (let i = 1; i <= Math.min(ctx.opts.reps, 5); i++) {
      try {
        reps.push(await cycle(ctx, shape, bin, n));
      } catch (e) {
        error = `rep ${i}: ${e.message}`;
        break;
      }
    }
    const m = (k) => median(reps.map((r) => r[k]));
    const row = {
      id, label: shape.label(n), unit: 'ms', status: reps.length ? 'ok' : 'error', reps: reps.length, samples: reps, n,
      frozenMs: m('frozenMs'), writtenMs: m('writtenMs'), checkpointMs: m('checkpointMs'), restoreMs: m('restoreMs'),
      answeredMs: m('answeredMs'), checks: [],
    };
    row.value = row.median = row.writtenMs;
    if (error) row.error = error;
    rows.push(row);
  }
  const ok = rows.filter((r) => r.status === 'ok');
  const first = ok[0], last = ok[ok.length - 1];
  const slope = (k) => (first && last && last.n > first.n ? (last[k] - first[k]) / (last.n - first.n) : null);
  const growth = { frozenMs: slope('frozenMs'), writtenMs: slope('writtenMs'), restoreMs: slope('restoreMs') };
  const out = [];
  out.push(shape.intro);
  out.push('');
  out.push(`| ${shape.header} | frozen ms | written ms | restored ms | ${shape.answer}, ms |`);
  out.push('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    out.push(r.status === 'ok'
      ? `| ${r.label} | ${fmtMs(r.frozenMs)} | ${fmtMs(r.writtenMs)} | ${fmtMs(r.restoreMs)} | ${fmtMs(r.answeredMs)} |`
      : `| ${r.label} | error | | | ${r.error ?? ''} |`);
  if (growth.restoreMs != null)
    out.push(`| per added ${shape.unit} | ${fmtMs(growth.frozenMs)} | ${fmtMs(growth.writtenMs)} | ${fmtMs(growth.restoreMs)} | |`);
  return { title: shape.title, rows, columns: COLUMNS, readme: out.join('\n') };
}

export const treeSection = (ctx) => shapeSection(ctx, 'tree');
export const threadsSection = (ctx) => shapeSection(ctx, 'threads');
export const sysvSection = (ctx) => shapeSection(ctx, 'sysv');
