// bench/runtimes.mjs — checkpoint and restore of the runtimes people run, and of
// memory shared by several processes, in `npm run bench`.
//
// A Node 20 job (bench/runtimes/timers.js: timers in the main thread and a worker
// thread), a Go job built statically (bench/runtimes/ticker.go: goroutines on
// tickers) and 256 MB of MAP_SHARED|MAP_ANONYMOUS memory held by 4 processes
// (bench/shmjob.c), image on tmpfs. Each repetition starts `vdomain run -- JOB`,
// times `vdomain checkpoint --kill --json` (the supervisor's figures: frozen,
// freeze → image fsynced), sizes the image, and times `vdomain restore` (image
// opened → every task running, and the command until the job answers after a few
// more ticks, or after checking the shared memory and every child's word in it).
// The shared mapping is saved once: its image must stay near 256 MB, not 4 × 256.
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkpointCycle, fmtMs } from './checkpoint.mjs';
import { median } from './stats.mjs';

const DIR = '/dev/shm';
const SHARED_MB = 256;
const SHARED_BY = 4;

// Builds each job; its argv, or throws with the reason it cannot run here.
const JOBS = [
  {
    id: 'runtimes.node', label: 'Node 20: timers, a worker thread',
    argv: (ctx) => [process.execPath, path.join(ctx.root, 'bench', 'runtimes', 'timers.js')],
  },
  {
    id: 'runtimes.go', label: 'Go, static: 4 goroutines on tickers',
    argv: (ctx) => {
      const out = path.join(ctx.bins.dir, 'ticker');
      const env = { ...process.env, HOME: ctx.bins.dir, GOCACHE: path.join(ctx.bins.dir, 'gocache'), CGO_ENABLED: '0' };
      const r = spawnSync('go', ['build', '-o', out, path.join(ctx.root, 'bench', 'runtimes', 'ticker.go')], { encoding: 'utf8', env });
      if (r.error) throw new Error(`go: ${r.error.message}`);
      if (r.status !== 0) throw new Error(`go build failed: ${r.stderr.trim().slice(-300)}`);
      return [out];
    },
  },
  {
    id: 'runtimes.shared', label: `${SHARED_MB} MB shared by ${SHARED_BY} processes`, imageAtMostMB: SHARED_MB * 1.1,
    argv: (ctx) => {
      const out = path.join(ctx.bins.dir, 'shmjob');
      const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, path.join(ctx.root, 'bench', 'shmjob.c')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cc shmjob.c failed: ${r.stderr}`);
      return [out, String(SHARED_MB), String(SHARED_BY)];
    },
  },
];

function cycle(ctx, job, argv) {
  const img = path.join(DIR, `vdomain-bench-${job.id}-${process.pid}.vdimg`);
  return checkpointCycle(ctx, argv, `bench-${job.id.replace('.', '-')}-${process.pid}`, img);
}

const COLUMNS = [
  { header: 'job', get: (r) => r.label },
  { header: 'reps', get: (r) => String(r.reps ?? ''), right: true },
  { header: 'frozen ms', get: (r) => fmtMs(r.frozenMs), right: true },
  { header: 'written ms', get: (r) => fmtMs(r.writtenMs), right: true },
  { header: 'restored ms', get: (r) => fmtMs(r.restoreMs), right: true },
  { header: 'restore cmd ms', get: (r) => fmtMs(r.answeredMs), right: true },
  { header: 'image MB', get: (r) => (r.imageMB == null ? '' : r.imageMB.toFixed(1)), right: true },
  { header: 'checks', get: (r) => (r.status !== 'ok' ? `error ${r.error ?? ''}` : r.checks.map((c) => `${c.result} ${c.against}`).join('; ')) },
];

export async function runtimesSection(ctx) {
  const rows = [];
  for (const job of JOBS) {
    if (!ctx.selected(job.id)) continue;
    const reps = [];
    let error = null;
    try {
      const argv = job.argv(ctx);
      for (let i = 1; i <= Math.min(ctx.opts.reps, 5); i++) {
        try {
          reps.push(await cycle(ctx, job, argv));
        } catch (e) {
          error = `rep ${i}: ${e.message}`;
          break;
        }
      }
    } catch (e) {
      error = e.message;
    }
    const m = (k) => median(reps.map((r) => r[k]));
    const row = {
      id: job.id, label: job.label, unit: 'ms', status: reps.length ? 'ok' : 'error', reps: reps.length, samples: reps,
      frozenMs: m('frozenMs'), writtenMs: m('writtenMs'), restoreMs: m('restoreMs'), answeredMs: m('answeredMs'), imageMB: m('imageMB'),
      checks: [],
    };
    row.value = row.median = row.writtenMs;
    if (job.imageAtMostMB && reps.length) {
      const ok = row.imageMB <= job.imageAtMostMB;
      row.checks.push({ against: `image ≤ ${job.imageAtMostMB.toFixed(0)} MB (saved once)`, result: ok ? 'PASS' : 'MISS', target: 'saved once' });
    }
    if (error) row.error = error;
    rows.push(row);
  }
  const out = [];
  out.push('Runtimes and shared memory (median of 5; image on tmpfs; "restored" = image opened → every task running; the restore command runs until the job answers: a few more ticks of each timer, or the shared memory and each child\'s word in it checked):');
  out.push('');
  out.push('| job | frozen ms | written ms | restored ms | restore cmd ms | image MB | checks |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows)
    out.push(r.status === 'ok'
      ? `| ${r.label} | ${fmtMs(r.frozenMs)} | ${fmtMs(r.writtenMs)} | ${fmtMs(r.restoreMs)} | ${fmtMs(r.answeredMs)} | ${r.imageMB.toFixed(1)} | ${r.checks.map((c) => `${c.result} ${c.against}`).join('; ')} |`
      : `| ${r.label} | error | | | | | ${r.error ?? ''} |`);
  return { title: 'runtimes and shared memory: vdomain run -- JOB; checkpoint --kill; restore (image on tmpfs)', rows, columns: COLUMNS, readme: out.join('\n') };
}
