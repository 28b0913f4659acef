// bench/tree.mjs — checkpoint and restore of process trees, in `npm run bench`.
//
// For a tree of 2, 16 and 64 processes (bench/treejob.c: a root and its
// children, 64 KB each of their own), image on tmpfs, each repetition starts
// `vdomain run -- treejob N`, times `vdomain checkpoint --kill --json` (the
// supervisor's figures: frozen, freeze → image fsynced) and `vdomain restore`
// (image opened → every process running, and the command until the root answers
// after reaping its children). The growth per added process is the slope between
// the 2- and the 64-process rows.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fmtMs, jsonLine, restoreJob, startJob, timed } from './checkpoint.mjs';
import { median } from './stats.mjs';

const SIZES = [2, 16, 64];
const DIR = '/dev/shm';

async function cycle(ctx, treejob, n) {
  const name = `bench-tree-${process.pid}`;
  const img = path.join(DIR, `vdomain-bench-tree-${process.pid}-${n}.vdimg`);
  fs.rmSync(img, { recursive: true, force: true });
  const job = await startJob(ctx.cli, [treejob, String(n)], name);
  try {
    const ck = timed(process.execPath, [ctx.cli, 'checkpoint', name, '-o', img, '--kill', '--json']);
    if (ck.status !== 0) throw new Error(`checkpoint exited ${ck.status}: ${ck.stderr.trim()}`);
    const c = jsonLine(ck.stdout, 'frozenMs');
    await job.exited;
    const r = await restoreJob(ctx.cli, img);
    return { frozenMs: c.frozenMs, writtenMs: c.writtenMs, checkpointMs: c.totalMs, restoreMs: r.restoreMs, answeredMs: r.answeredMs };
  } finally {
    try { job.child.kill('SIGKILL'); } catch {}
    fs.rmSync(img, { recursive: true, force: true });
  }
}

const COLUMNS = [
  { header: 'tree', get: (r) => r.label },
  { header: 'reps', get: (r) => String(r.reps ?? ''), right: true },
  { header: 'frozen ms', get: (r) => fmtMs(r.frozenMs), right: true },
  { header: 'written ms', get: (r) => fmtMs(r.writtenMs), right: true },
  { header: 'checkpoint ms', get: (r) => fmtMs(r.checkpointMs), right: true },
  { header: 'restored ms', get: (r) => fmtMs(r.restoreMs), right: true },
  { header: 'restore cmd ms', get: (r) => fmtMs(r.answeredMs), right: true },
  { header: 'checks', get: (r) => (r.status !== 'ok' ? `error ${r.error ?? ''}` : '') },
];

export async function treeSection(ctx) {
  const title = 'process trees: vdomain run -- treejob N; checkpoint --kill; restore (image on tmpfs)';
  const treejob = path.join(ctx.bins.dir, 'treejob');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', treejob, path.join(ctx.root, 'bench', 'treejob.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc treejob.c failed: ${cc.stderr}`);
  const rows = [];
  for (const n of SIZES) {
    const id = `tree.${n}`;
    if (!ctx.selected(id)) continue;
    const reps = [];
    let error = null;
    for (let i = 1; i <= Math.min(ctx.opts.reps, 5); i++) {
      try {
        reps.push(await cycle(ctx, treejob, n));
      } catch (e) {
        error = `rep ${i}: ${e.message}`;
        break;
      }
    }
    const m = (k) => median(reps.map((r) => r[k]));
    const row = {
      id, label: `${n} processes`, unit: 'ms', status: reps.length ? 'ok' : 'error', reps: reps.length, samples: reps, n,
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
  out.push('Process trees (median of 5; image on tmpfs; each process 64 KB of its own; "restored" = image opened → every process running):');
  out.push('');
  out.push('| tree | frozen ms | written ms | restored ms | restore command until the root answers, ms |');
  out.push('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    out.push(r.status === 'ok'
      ? `| ${r.label} | ${fmtMs(r.frozenMs)} | ${fmtMs(r.writtenMs)} | ${fmtMs(r.restoreMs)} | ${fmtMs(r.answeredMs)} |`
      : `| ${r.label} | error | | | ${r.error ?? ''} |`);
  if (growth.restoreMs != null)
    out.push(`| per added process | ${fmtMs(growth.frozenMs)} | ${fmtMs(growth.writtenMs)} | ${fmtMs(growth.restoreMs)} | |`);
  return { title, rows, columns: COLUMNS, readme: out.join('\n') };
}
