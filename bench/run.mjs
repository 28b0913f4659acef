#!/usr/bin/env node
// bench/run.mjs — the vdomain benchmark (`npm run bench`).
//
// Compiles bench/workload.c and bench/floor.c with the system `cc` into a temporary
// directory, measures every row `reps` times, prints one table per section with
// ratios against native / the C floor and PASS/MISS against the targets, a
// Markdown table for the README, and writes everything to bench/results.json
// (overwritten).
//
//   node bench/run.mjs [--reps N] [--only SUBSTRING] [--timeout SECONDS]
//
// Environment: BENCH_REPS (default 7), VDOMAIN_CLI (default dist/cli/vdomain.js).
// --only keeps the rows whose id (e.g. "remapped.getpid") contains SUBSTRING; the
// reference runs a kept row is compared with are made anyway.
//
// Method (the VM this runs on drifts by 5–10 % from one run to the next):
//  - Every targeted row is an interleaved comparison with its reference: the
//    reference command and the row's command run alternately (ref, row, ref, row,
//    …, `reps` pairs), so a slow drift of the machine hits both alike.
//  - Each row reports the median and the minimum of its reps. Ratios are
//    min(row) / min(reference) over the same interleaved pairs: the minimum is the
//    most reproducible estimator of a microbenchmark's cost (noise only ever adds
//    time). The median of the per-pair ratios is reported alongside.
//  - The reference rows (native, floor) shown at the end pool every reference run
//    of the comparisons (or are measured on their own when no comparison ran them).
//
// It never crashes on a failed row: a missing CLI, a non-zero exit, a timeout or
// unparsable output marks that row "error" and the bench goes on. Exit status is 0.
//
// Adding a section (see bench/checkpoint.mjs): write an async function
// `(ctx) => ({ title, rows, columns?, readme? })` and append it to SECTIONS. `compare()` runs
// a reference and a row interleaved and adds the ratio/target check to the row;
// `measure()` runs one command `reps` times on its own. Both take their value from
// the command's stdout through `parse` (default: a {"ns_per_call":…} JSON line).
// Rows of earlier sections are in ctx.byId, reference runs in ctx.refPool.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointSection } from './checkpoint.mjs';
import { runtimesSection } from './runtimes.mjs';
import { sysvSection, threadsSection, treeSection } from './tree.mjs';
import { median } from './stats.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const CLI = process.env.VDOMAIN_CLI ? path.resolve(process.env.VDOMAIN_CLI) : path.join(ROOT, 'dist', 'cli', 'vdomain.js');
const RESULTS = path.join(BENCH_DIR, 'results.json');

// ---------------------------------------------------------------- options

function parseOptions(argv) {
  const opts = {
    reps: Number(process.env.BENCH_REPS) || 7,
    only: null,
    timeoutMs: 120_000,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--reps') opts.reps = Math.max(1, parseInt(next(), 10) || 1);
    else if (a === '--only') opts.only = next();
    else if (a === '--timeout') opts.timeoutMs = Math.max(1, Number(next()) || 120) * 1000;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node bench/run.mjs [--reps N] [--only SUBSTRING] [--timeout SECONDS]');
      process.exit(0);
    } else console.error(`bench: ignoring unknown option ${a}`);
  }
  return opts;
}

// ---------------------------------------------------------------- build

function build() {
  const bins = { dir: null };
  const errors = {};
  try {
    bins.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vdomain-bench-'));
  } catch (err) {
    errors.workload = errors.floor = `cannot create a build directory: ${err.message}`;
    return { bins, errors };
  }
  for (const name of ['workload', 'floor']) {
    const src = path.join(BENCH_DIR, `${name}.c`);
    const out = path.join(bins.dir, name);
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
    if (r.error) errors[name] = `cc: ${r.error.message}`;
    else if (r.status !== 0) errors[name] = `cc ${name}.c failed (${r.status}): ${tail(r.stderr)}`;
    else bins[name] = out;
  }
  return { bins, errors };
}

// ---------------------------------------------------------------- running

function tail(s, lines = 6, chars = 600) {
  const t = String(s ?? '').trim().split('\n').slice(-lines).join('\n');
  return t.length > chars ? '…' + t.slice(-chars) : t;
}

// Processes in session `sid` (from /proc; empty if unreadable).
function sessionMembers(sid) {
  const pids = [];
  let entries = [];
  try { entries = fs.readdirSync('/proc'); } catch { return pids; }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...; comm may contain spaces and parens
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[3]) === sid) pids.push({ pid: Number(e), state: rest[0], comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {}
  }
  return pids;
}

// Run a command once as the leader of a new session. The run ends when the command
// exits (its stdout/stderr get a short grace to drain: a leftover descendant holding
// them must not stall the bench) or at the timeout (the process group is killed).
// Descendants still in the session afterwards are reported in `leftovers` and
// killed by pid.
function runOnce(cmd, args, { timeoutMs, cwd = ROOT, env = process.env, drainMs = 2000 } = {}) {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let done = false;
    let exit = null;
    let child;
    const finish = (spawnError = null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      let leftovers = [];
      if (child?.pid) {
        leftovers = sessionMembers(child.pid).filter((p) => p.pid !== process.pid && p.state !== 'Z');
        for (const p of leftovers) { try { process.kill(p.pid, 'SIGKILL'); } catch {} }
      }
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      resolve({ code: exit?.code ?? null, signal: exit?.signal ?? null, stdout, stderr, timedOut, spawnError, leftovers });
    };
    let timer = null;
    let drainTimer = null;
    try {
      child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      finish(err);
      return;
    }
    timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { try { child.kill('SIGKILL'); } catch {} }
      drainTimer = setTimeout(() => finish(), drainMs);
    }, timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (err) => finish(err));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (!drainTimer) drainTimer = setTimeout(() => finish(), drainMs);
    });
    child.on('close', () => finish());
  });
}

// Default parser: the last stdout line that is a JSON object with a numeric
// ns_per_call (other output of the CLI on stdout is ignored).
function parseNsPerCall(stdout, expect = {}) {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    let obj;
    try { obj = JSON.parse(lines[i]); } catch { continue; }
    if (typeof obj?.ns_per_call !== 'number' || !Number.isFinite(obj.ns_per_call)) continue;
    if (expect.mode && obj.mode !== expect.mode) throw new Error(`output is for mode "${obj.mode}", expected "${expect.mode}"`);
    if (expect.n && obj.n !== expect.n) throw new Error(`output is for n=${obj.n}, expected ${expect.n}`);
    return obj.ns_per_call;
  }
  throw new Error('no {"ns_per_call":…} line on stdout');
}

function stats(samples) {
  if (!samples.length) return { median: null, min: null, max: null };
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

// ---------------------------------------------------------------- specs and repetitions

// A spec: { id, label, n, mode, argv, needs?: ['workload'|'floor'], needsCli?, parse? }.

// For display: the bench's temporary binaries by name, repository files relative.
function shortPath(ctx, a) {
  if (a === process.execPath) return 'node';
  if (ctx.bins.dir && a.startsWith(ctx.bins.dir + path.sep)) return path.basename(a);
  if (a.startsWith(ROOT + path.sep)) return path.relative(ROOT, a);
  return a;
}

// Why `spec` cannot run (a missing binary or CLI), or null.
function missingPrereq(ctx, spec) {
  spec.command = spec.argv.map((a) => shortPath(ctx, a)).join(' ');
  const missing = (spec.needs ?? []).find((k) => !ctx.bins[k]);
  if (missing) return `${missing} not built: ${ctx.buildErrors[missing] ?? 'unknown error'}`;
  if (spec.needsCli && !fs.existsSync(CLI)) {
    return `vdomain CLI not built: ${path.relative(ROOT, CLI)} missing (run npm run build)`;
  }
  return null;
}

// Run `spec` once: { value } or { error }, and a `warning` if it left processes
// behind. Never throws.
async function runRep(ctx, spec, rep) {
  const [cmd, ...args] = spec.argv;
  const parse = spec.parse ?? parseNsPerCall;
  const expect = { mode: spec.mode, n: spec.n };
  const timeoutMs = ctx.opts.timeoutMs;
  const r = await runOnce(cmd, args, { timeoutMs });
  const warning = r.leftovers.length
    ? `rep ${rep}: left ${r.leftovers.length} process(es) behind (killed): ` +
      r.leftovers.map((p) => `${p.pid} ${p.comm} [${p.state}]`).join(', ')
    : null;
  let error = null;
  if (r.spawnError) error = `cannot run ${cmd}: ${r.spawnError.message}`;
  else if (r.timedOut) {
    error = `timed out after ${timeoutMs / 1000} s`;
    try {
      parse(r.stdout, expect);
      error += ' (the job had printed its result, but the command did not exit)';
    } catch {}
  } else if (r.code !== 0) error = `exited ${r.code ?? 'by signal ' + r.signal}`;
  let value;
  if (!error) {
    try { value = parse(r.stdout, expect); } catch (err) { error = err.message; }
  }
  if (error) {
    const detail = tail(r.stderr) || tail(r.stdout);
    return { error: `rep ${rep}: ${detail ? `${error}: ${detail}` : error}`, warning };
  }
  return { value, warning };
}

// Samples of one command: { samples, error, warnings }.
const newAcc = () => ({ samples: [], error: null, warnings: [] });
function addRep(acc, res) {
  if (res.warning && !acc.warnings.includes(res.warning)) acc.warnings.push(res.warning);
  if (res.error) acc.error = res.error;
  else acc.samples.push(res.value);
}

// A pool of every run of a reference command (across comparisons).
function refPool(ctx, spec) {
  let pool = ctx.refPool.get(spec.id);
  if (!pool) {
    pool = { spec, samples: [], errors: [], warnings: [], used_by: [] };
    ctx.refPool.set(spec.id, pool);
  }
  return pool;
}

// ---------------------------------------------------------------- rows and checks

// A row: what was run and what came out. `value` is the estimator the ratios use
// (the minimum); `median` is reported alongside. `checks` are ratios to references.
function makeRow(spec, acc, status = acc.error || !acc.samples.length ? 'error' : 'ok') {
  const s = stats(acc.samples);
  return {
    id: spec.id,
    label: spec.label,
    n: spec.n ?? null,
    unit: spec.unit ?? 'ns/call',
    command: spec.command ?? null,
    status,
    value: s.min,
    median: s.median,
    min: s.min,
    max: s.max,
    samples: acc.samples,
    error: acc.error ?? null,
    warnings: acc.warnings ?? [],
    checks: [],
  };
}

// Ratio of `row` to a reference `ref` ({ id, min }, labelled `against`): min(row) /
// min(ref), with an optional target (the highest ratio that passes). `pairs`
// ([ref, row] samples of an interleaved comparison) adds the median pair ratio.
function check(row, ref, against, target = null, pairs = null) {
  const c = {
    against, ref: ref?.id ?? null, estimator: 'min/min', interleaved: !!pairs, pairs: pairs?.length ?? 0,
    ref_min: ref?.min ?? null, ratio: null, pair_ratio_median: null, target, result: null,
  };
  if (row.status !== 'ok') c.result = target == null ? null : 'error';
  else if (!ref?.min) c.result = target == null ? null : 'n/a';
  else {
    c.ratio = row.min / ref.min;
    if (pairs?.length) c.pair_ratio_median = median(pairs.map(([r, x]) => x / r));
    if (target != null) c.result = c.ratio <= target ? 'PASS' : 'MISS';
  }
  row.checks.push(c);
  return c;
}

// Interleaved comparison: `reps` pairs of runs, the reference first in each pair
// (ref, row, ref, row, …). Returns the row, checked against the reference's
// samples of the same pairs; the reference runs also go to ctx.refPool.
async function compare(ctx, refSpec, spec, { against, target = null }) {
  const missing = missingPrereq(ctx, spec) ?? missingPrereq(ctx, refSpec);
  if (missing) {
    const row = makeRow(spec, { ...newAcc(), error: missing });
    check(row, null, against, target);
    return row;
  }
  const reps = ctx.opts.reps;
  const ref = newAcc();
  const sub = newAcc();
  const pool = refPool(ctx, refSpec);
  pool.used_by.push(spec.id);
  for (let i = 1; i <= reps; i++) {
    progress(`${spec.label} (interleaved with ${refSpec.label})  ${i}/${reps}`);
    const a = await runRep(ctx, refSpec, i);
    addRep(ref, a);
    addRep(pool, a);
    if (a.error) {
      pool.errors.push(`${a.error} (while compared with ${spec.label})`);
      break;
    }
    const b = await runRep(ctx, spec, i);
    addRep(sub, b);
    if (b.error) break;
  }
  progress(null);
  const k = sub.samples.length; // complete pairs
  if (ref.error) {
    if (k) sub.warnings.push(`stopped after ${k} pair(s): the reference ${refSpec.label} failed: ${ref.error}`);
    else sub.error = `not measured: the reference ${refSpec.label} failed: ${ref.error}`;
  }
  const row = makeRow(spec, sub);
  const refSamples = ref.samples.slice(0, k);
  row.reference = { id: refSpec.id, label: refSpec.label, command: refSpec.command, n: refSpec.n, ...stats(refSamples), samples: refSamples };
  check(row, { id: refSpec.id, min: row.reference.min }, against, target, refSamples.map((r, i) => [r, sub.samples[i]]));
  return row;
}

// Run `spec` on its own `reps` times (stops at the first failing repetition).
async function measure(ctx, spec) {
  const missing = missingPrereq(ctx, spec);
  if (missing) return makeRow(spec, { ...newAcc(), error: missing });
  const acc = newAcc();
  for (let i = 1; i <= ctx.opts.reps && !acc.error; i++) {
    progress(`${spec.label}  ${i}/${ctx.opts.reps}`);
    addRep(acc, await runRep(ctx, spec, i));
  }
  progress(null);
  return makeRow(spec, acc);
}

// ---------------------------------------------------------------- output

function fmtTime(ns) {
  if (ns == null) return '';
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

function fmtX(x) {
  if (x == null) return '—';
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
}

function fmtRatio(row, c) {
  if (!c || row.status !== 'ok') return '';
  return fmtX(c.ratio);
}

function fmtDuration(ms) {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

const checkAgainst = (row, against) => row.checks.find((c) => c.against === against);
// The check a row is judged by: its targeted one, else its first.
const mainCheck = (row) => row.checks.find((c) => c.target != null) ?? row.checks[0];
const targetText = (row) => row.checks.filter((c) => c.target != null).map((c) => `≤ ${c.target}× ${c.against}`).join(', ');
const resultText = (row) => row.status === 'error' ? 'error' : row.checks.filter((c) => c.target != null).map((c) => c.result).join(', ');

const DEFAULT_COLUMNS = [
  { header: 'row', get: (r) => r.label },
  { header: 'N', get: (r) => (r.n ?? '').toString(), right: true },
  { header: 'median', get: (r) => (r.status === 'ok' ? fmtTime(r.median) : r.status), right: true },
  { header: 'min', get: (r) => (r.status === 'ok' ? fmtTime(r.min) : ''), right: true },
  { header: 'spread', get: (r) => (r.status === 'ok' && r.min ? `+${((r.max - r.min) / r.min * 100).toFixed(1)}%` : ''), right: true },
  { header: 'ref min', get: (r) => { const c = mainCheck(r); return c?.interleaved && c.ref_min != null && r.status === 'ok' ? `${fmtTime(c.ref_min)} ${c.against}` : ''; }, right: true },
  { header: 'vs native', get: (r) => fmtRatio(r, checkAgainst(r, 'native')), right: true },
  { header: 'vs floor', get: (r) => fmtRatio(r, checkAgainst(r, 'floor')), right: true },
  { header: 'pair med', get: (r) => { const c = mainCheck(r); return c?.pair_ratio_median != null ? fmtX(c.pair_ratio_median) : ''; }, right: true },
  { header: 'target', get: targetText },
  { header: 'result', get: resultText },
];

// Print one section as a table, then the errors and warnings of its rows.
function section(title, rows, columns = DEFAULT_COLUMNS) {
  console.log(`\n== ${title} ==`);
  if (!rows.length) {
    console.log('  (no rows)');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => String(c.get(r) ?? '')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (vals) => '  ' + vals.map((v, i) => (columns[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(line(columns.map((c) => c.header)));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of cells) console.log(line(row));
  for (const r of rows) {
    if (r.error) console.log(`  ! ${r.label}: ${r.error.replace(/\n/g, '\n    ')}`);
    for (const w of r.warnings ?? []) console.log(`  ~ ${r.label}: ${w}`);
  }
}

// The Markdown table for the README: reference rows first, then the others in order.
function readmeTable(ctx, sections) {
  const all = sections.flatMap((s) => s.rows).filter((r) => r.unit === 'ns/call');
  const refs = all.filter((r) => r.pooled);
  const rows = [...refs, ...all.filter((r) => !r.pooled)];
  const ns = (x) => x == null ? '' : x < 1000 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US');
  const out = [];
  out.push(`_${ctx.host.kernel}, ${ctx.host.cpus} vCPUs (${ctx.host.cpu_model ?? 'unknown CPU'}); ns/call = minimum of ${ctx.opts.reps} reps; ` +
    `each row runs interleaved with its reference, ratio = min(row) / min(reference) over those pairs._`);
  out.push('');
  out.push('| row | ns/call | ratio | target | result |');
  out.push('| --- | ---: | ---: | --- | --- |');
  for (const r of rows) {
    const c = mainCheck(r);
    const ratio = r.status === 'ok' && c?.ratio != null ? `${fmtX(c.ratio)} ${c.against}` : r.pooled ? 'reference' : '—';
    out.push(`| ${r.label} | ${r.status === 'ok' ? ns(r.min) : 'error'} | ${ratio} | ${targetText(r)} | ${resultText(r)} |`);
  }
  return out.join('\n');
}

let progressShown = false;
function progress(msg) {
  if (!process.stderr.isTTY) return;
  if (progressShown) process.stderr.write('\r\x1b[K');
  progressShown = false;
  if (msg) {
    process.stderr.write(`  … ${msg}`);
    progressShown = true;
  }
}

// ---------------------------------------------------------------- sections

const MODES = ['getpid', 'getuid', 'forkwait', 'semop'];
// N of a reference measured on its own (no comparison ran it).
const REF_NS = { getpid: 2_000_000, getuid: 2_000_000, forkwait: 3_000, semop: 2_000_000, floor: 200_000 };

const nativeSpec = (ctx, mode, n) => ({
  id: `native.${mode}`, label: `native ${mode}`, n, mode,
  needs: ['workload'], argv: [ctx.bins.workload ?? 'workload', mode, String(n)],
});

const floorSpec = (ctx, n) => ({
  id: 'floor', label: 'floor: C unotify getpid', n, mode: 'floor-getpid',
  needs: ['floor'], argv: [ctx.bins.floor ?? 'floor', String(n)],
});

// A domain section: the workload under `vdomain run [extra] -- workload MODE N`, each
// row interleaved with its targeted reference (native MODE N, or the floor at N).
function domainSection({ key, title, cliArgs, ns, targets }) {
  return async (ctx) => {
    const rows = [];
    for (const mode of MODES) {
      const id = `${key}.${mode}`;
      if (!ctx.selected(id)) continue;
      const n = ns[mode];
      const t = targets[mode] ?? {};
      const spec = {
        id, label: `${key} ${mode}`, n, mode, needs: ['workload'], needsCli: true,
        argv: [process.execPath, CLI, 'run', ...cliArgs, '--', ctx.bins.workload ?? 'workload', mode, String(n)],
      };
      let row;
      if (t.floor != null) {
        row = await compare(ctx, floorSpec(ctx, n), spec, { against: 'floor', target: t.floor });
        // For scale only (no target, not interleaved): the native runs made so far.
        const nat = ctx.refPool.get(`native.${mode}`);
        check(row, nat?.samples.length ? { id: nat.spec.id, min: Math.min(...nat.samples) } : null, 'native');
      } else {
        row = await compare(ctx, nativeSpec(ctx, mode, n), spec, { against: 'native', target: t.native ?? null });
      }
      rows.push(row);
    }
    return { title, rows };
  };
}

const identitySection = domainSection({
  key: 'identity',
  title: 'identity domain: vdomain run -- workload',
  cliArgs: [],
  ns: { getpid: 2_000_000, getuid: 2_000_000, forkwait: 3_000, semop: 2_000_000 },
  targets: { getpid: { native: 1.05 }, getuid: { native: 1.05 }, forkwait: { native: 1.05 }, semop: { native: 1.05 } },
});

const remappedSection = domainSection({
  key: 'remapped',
  title: 'remapped domain: vdomain run --vpid-base 50000 -- workload',
  cliArgs: ['--vpid-base', '50000'],
  ns: { getpid: 200_000, getuid: 2_000_000, forkwait: 3_000, semop: 2_000_000 },
  // semop: not translated (decision 0010); it pays only the filter's cost, as getuid does
  targets: { getpid: { floor: 1.3 }, getuid: { native: 1.05 }, forkwait: { native: 2 }, semop: {} },
});

// The references: every run the comparisons made of them, pooled; a selected
// reference no comparison ran (e.g. --only native, or the CLI missing) is measured
// on its own.
async function referenceSection(ctx) {
  const rows = [];
  const specs = [...MODES.map((m) => nativeSpec(ctx, m, REF_NS[m])), floorSpec(ctx, REF_NS.floor)];
  for (const spec of specs) {
    const pool = ctx.refPool.get(spec.id);
    let row;
    if (pool && (pool.samples.length || pool.errors.length)) {
      row = makeRow(pool.spec, { samples: pool.samples, error: pool.errors.join('\n') || null, warnings: pool.warnings },
        pool.samples.length ? 'ok' : 'error');
      row.pooled = true;
      row.pooled_from = pool.used_by;
    } else if (ctx.selected(spec.id)) {
      row = await measure(ctx, spec);
      row.pooled = true;
      row.pooled_from = [];
    } else continue;
    rows.push(row);
  }
  const floor = rows.find((r) => r.id === 'floor');
  const nat = rows.find((r) => r.id === 'native.getpid');
  if (floor) check(floor, nat?.status === 'ok' ? nat : null, 'native'); // for scale, no target
  return { title: 'references: native (no supervisor) and floor (C seccomp user-notification supervisor, SYNC_WAKE_UP), all their runs above pooled', rows };
}

// Append new sections here, before the references. A section with rows of its own
// kind (not ns/call) gives its own columns and its own README text (`readme`).
const SECTIONS = [identitySection, remappedSection, checkpointSection, treeSection, threadsSection, sysvSection, runtimesSection, referenceSection];

// ---------------------------------------------------------------- main

function hostInfo() {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const cpus = os.cpus();
  return {
    kernel: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpus: cpus.length,
    cpu_model: cpus[0]?.model?.trim() ?? null,
    node: process.version,
    loadavg: os.loadavg(),
    git: git.status === 0 ? git.stdout.trim() : null,
    uid: process.getuid?.() ?? null,
  };
}

async function main() {
  const t0 = Date.now();
  let opts;
  try { opts = parseOptions(process.argv.slice(2)); } catch (err) {
    console.error(`bench: ${err.message}; using the defaults`);
    opts = parseOptions([]);
  }
  const started = new Date();
  let bins = { dir: null };
  let buildErrors = {};
  try {
    ({ bins, errors: buildErrors } = build());
  } catch (err) {
    buildErrors = { workload: String(err?.message ?? err), floor: String(err?.message ?? err) };
  }
  for (const [name, err] of Object.entries(buildErrors)) console.log(`! build ${name}: ${err}`);

  const host = hostInfo();
  const ctx = {
    opts, bins, buildErrors, cli: CLI, root: ROOT, host,
    byId: new Map(),
    refPool: new Map(),
    selected: (id) => !opts.only || id.includes(opts.only),
  };

  console.log(`vdomain bench — ${host.kernel}, ${host.cpus} CPUs, node ${process.version}, load ${host.loadavg.map((x) => x.toFixed(2)).join(' ')}, ${opts.reps} rep${opts.reps === 1 ? '' : 's'} per row`);
  console.log('  estimator: ratios ("vs native", "vs floor") = min(row) / min(reference) over interleaved pairs');
  console.log('  (ref, row, ref, row, …); "median"/"min" are over the row\'s reps, "spread" = (max − min) / min,');
  console.log('  "ref min" = the reference\'s min in the same pairs, "pair med" = median of the per-pair ratios.');
  const sections = [];
  try {
    for (const fn of SECTIONS) {
      let sec;
      try {
        sec = await fn(ctx);
      } catch (err) {
        sec = { title: fn.name, rows: [], error: String(err?.stack ?? err) };
        console.log(`\n! section ${fn.name} failed: ${err?.message ?? err}`);
      }
      for (const r of sec.rows) ctx.byId.set(r.id, r);
      sections.push(sec);
      if (sec.rows.length || !opts.only) section(sec.title, sec.rows, sec.columns);
    }
  } finally {
    if (bins.dir) try { fs.rmSync(bins.dir, { recursive: true, force: true }); } catch {}
  }

  const all = sections.flatMap((s) => s.rows);
  const targeted = all.flatMap((r) => r.checks.filter((c) => c.target != null));
  const count = (v) => targeted.filter((c) => c.result === v).length;
  const errorsN = all.filter((r) => r.status === 'error' || r.error).length;
  const readme = [readmeTable(ctx, sections), ...sections.filter((s) => s.readme).map((s) => s.readme)].join('\n\n');
  console.log('\n== README table ==\n');
  console.log(readme);
  const wallMs = Date.now() - t0;
  console.log(`\ntargets: ${count('PASS')} PASS, ${count('MISS')} MISS, ${count('error') + count('n/a')} not measured; ${errorsN} row(s) with errors; wall time ${fmtDuration(wallMs)}`);

  const results = {
    version: 2,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    wall_s: Math.round(wallMs / 100) / 10,
    host,
    options: { reps: opts.reps, only: opts.only, timeout_s: opts.timeoutMs / 1000 },
    method: {
      interleaved: 'each row alternates with its reference: ref, row, ref, row, … (reps pairs)',
      value: 'row.value = row.min, the minimum over reps (row.median also given)',
      ratio: 'check.ratio = min(row) / min(reference samples of the same pairs); check.pair_ratio_median = median of row_i / ref_i',
    },
    build_errors: buildErrors,
    sections: sections.map((s) => ({ title: s.title, error: s.error, rows: s.rows })),
    summary: { pass: count('PASS'), miss: count('MISS'), not_measured: count('error') + count('n/a'), error_rows: errorsN },
    readme_table: readme,
  };
  try {
    fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
    console.log(`results written to ${path.relative(process.cwd(), RESULTS) || RESULTS}`);
  } catch (err) {
    console.log(`! cannot write ${RESULTS}: ${err.message}`);
  }
}

process.on('unhandledRejection', (err) => console.error(`bench: ${err?.stack ?? err}`));
main()
  .catch((err) => console.error(`bench: ${err?.stack ?? err}`))
  .finally(() => process.exit(0));
