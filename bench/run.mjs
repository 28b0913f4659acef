#!/usr/bin/env node
// bench/run.mjs — the vdomain benchmark (`npm run bench`).
//
// Compiles bench/workload.c and bench/floor.c with the system `cc` into a temporary
// directory, runs every measurement several times (median), prints one table per
// section with ratios against native / the C floor and PASS/MISS against the
// targets, and writes everything to bench/results.json (overwritten).
//
//   node bench/run.mjs [--reps N] [--only SUBSTRING] [--timeout SECONDS]
//
// Environment: BENCH_REPS (default 5), VDOMAIN_CLI (default dist/cli/vdomain.js).
// --only keeps the rows whose id (e.g. "remapped.getpid") contains SUBSTRING, plus
// the reference rows (native, floor) the ratios need.
//
// It never crashes on a failed row: a missing CLI, a non-zero exit, a timeout or
// unparsable output marks that row "error" and the bench goes on. Exit status is 0.
//
// Adding a section (e.g. checkpoint/restore timings): write an async function
// `(ctx) => ({ title, rows, columns? })` and append it to SECTIONS. `measure()`
// runs a command `reps` times and takes the median of what `parse` extracts from
// its stdout; `check()` turns a row and a reference into a ratio with a target.
// Rows of earlier sections are in ctx.byId for cross-section ratios.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const CLI = process.env.VDOMAIN_CLI ? path.resolve(process.env.VDOMAIN_CLI) : path.join(ROOT, 'dist', 'cli', 'vdomain.js');
const RESULTS = path.join(BENCH_DIR, 'results.json');

// ---------------------------------------------------------------- options

function parseOptions(argv) {
  const opts = {
    reps: Number(process.env.BENCH_REPS) || 5,
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

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Run `cmd args` `reps` times; the value is the median of parse(stdout).
// Stops at the first failing repetition. Never throws.
async function measure(cmd, args, { reps = 5, timeoutMs = 120_000, parse = parseNsPerCall, expect, onRep } = {}) {
  const samples = [];
  const warnings = [];
  for (let i = 0; i < reps; i++) {
    onRep?.(i + 1, reps);
    const r = await runOnce(cmd, args, { timeoutMs });
    if (r.leftovers.length) {
      const w = `rep ${i + 1}: left ${r.leftovers.length} process(es) behind (killed): ` +
        r.leftovers.map((p) => `${p.pid} ${p.comm} [${p.state}]`).join(', ');
      if (!warnings.includes(w)) warnings.push(w);
    }
    let error = null;
    if (r.spawnError) error = `cannot run ${cmd}: ${r.spawnError.message}`;
    else if (r.timedOut) {
      error = `timed out after ${timeoutMs / 1000} s`;
      try {
        parse(r.stdout, expect);
        error += ' (the job had printed its result, but the command did not exit)';
      } catch {}
    }
    else if (r.code !== 0) error = `exited ${r.code ?? 'by signal ' + r.signal}`;
    let value;
    if (!error) {
      try { value = parse(r.stdout, expect); } catch (err) { error = err.message; }
    }
    if (error) {
      const detail = tail(r.stderr) || tail(r.stdout);
      return { status: 'error', error: detail ? `${error}: ${detail}` : error, samples, rep: i + 1, warnings };
    }
    samples.push(value);
  }
  return {
    status: 'ok',
    value: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
    warnings,
  };
}

// ---------------------------------------------------------------- rows and checks

// A row: what was run and what came out. `checks` are ratios to reference rows.
function makeRow(spec, result) {
  return {
    id: spec.id,
    label: spec.label,
    n: spec.n ?? null,
    unit: spec.unit ?? 'ns/call',
    command: spec.command ?? null,
    status: result.status,
    value: result.value ?? null,
    min: result.min ?? null,
    max: result.max ?? null,
    samples: result.samples ?? [],
    error: result.error ?? null,
    warnings: result.warnings ?? [],
    checks: [],
  };
}

function errorRow(spec, error) {
  return makeRow(spec, { status: 'error', error });
}

// Ratio of `row` to the reference row `ref` (labelled `against`), with an optional
// target (the highest ratio that passes).
function check(row, ref, against, target = null) {
  const c = { against, ref: ref?.id ?? null, ratio: null, target, result: null };
  if (row.status !== 'ok') c.result = target == null ? null : 'error';
  else if (!ref || ref.status !== 'ok' || !ref.value) c.result = target == null ? null : 'n/a';
  else {
    c.ratio = row.value / ref.value;
    if (target != null) c.result = c.ratio <= target ? 'PASS' : 'MISS';
  }
  row.checks.push(c);
  return c;
}

// For display: the bench's temporary binaries by name, repository files relative.
function shortPath(ctx, a) {
  if (a === process.execPath) return 'node';
  if (ctx.bins.dir && a.startsWith(ctx.bins.dir + path.sep)) return path.basename(a);
  if (a.startsWith(ROOT + path.sep)) return path.relative(ROOT, a);
  return a;
}

// Measure one workload row (native or under the CLI).
async function workloadRow(ctx, spec) {
  if (spec.needs) {
    const missing = spec.needs.find((k) => !ctx.bins[k]);
    if (missing) return errorRow(spec, `${missing} not built: ${ctx.buildErrors[missing] ?? 'unknown error'}`);
  }
  if (spec.needsCli && !fs.existsSync(CLI)) {
    return errorRow(spec, `vdomain CLI not built: ${path.relative(ROOT, CLI)} missing (run npm run build)`);
  }
  const [cmd, ...args] = spec.argv;
  spec.command = [cmd, ...args].map((a) => shortPath(ctx, a)).join(' ');
  const result = await measure(cmd, args, {
    reps: ctx.opts.reps,
    timeoutMs: ctx.opts.timeoutMs,
    expect: { mode: spec.mode, n: spec.n },
    onRep: (i, n) => progress(`${spec.label}  ${i}/${n}`),
  });
  progress(null);
  return makeRow(spec, result);
}

// ---------------------------------------------------------------- output

function fmtTime(ns) {
  if (ns == null) return '';
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

function fmtRatio(c) {
  if (!c || c.result === 'error') return '';
  if (c.ratio == null) return '—';
  const r = c.ratio >= 100 ? c.ratio.toFixed(0) : c.ratio >= 10 ? c.ratio.toFixed(1) : c.ratio.toFixed(2);
  return `${r}×`;
}

const checkAgainst = (row, against) => row.checks.find((c) => c.against === against);

const DEFAULT_COLUMNS = [
  { header: 'row', get: (r) => r.label },
  { header: 'N', get: (r) => (r.n ?? '').toString(), right: true },
  { header: 'time/call', get: (r) => (r.status === 'ok' ? fmtTime(r.value) : r.status), right: true },
  { header: 'spread', get: (r) => (r.status === 'ok' && r.value ? `±${((r.max - r.min) / 2 / r.value * 100).toFixed(1)}%` : ''), right: true },
  { header: 'vs native', get: (r) => fmtRatio(checkAgainst(r, 'native')), right: true },
  { header: 'vs floor', get: (r) => fmtRatio(checkAgainst(r, 'floor')), right: true },
  { header: 'target', get: (r) => r.checks.filter((c) => c.target != null).map((c) => `≤ ${c.target}× ${c.against}`).join(', ') },
  { header: 'result', get: (r) => r.status === 'error' ? 'error' : r.checks.filter((c) => c.target != null).map((c) => c.result).join(', ') },
];

// Print one section as a table, then the errors of its rows.
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

const MODES = ['getpid', 'getuid', 'forkwait'];

async function floorSection(ctx) {
  const n = 200_000;
  const row = await workloadRow(ctx, {
    id: 'floor', label: 'floor: C unotify getpid', n, mode: 'floor-getpid',
    needs: ['floor'], argv: [ctx.bins.floor ?? 'floor', String(n)],
  });
  check(row, ctx.byId.get('native.getpid'), 'native'); // for scale, no target
  return { title: 'floor (C seccomp user-notification supervisor, SYNC_WAKE_UP)', rows: [row] };
}

async function nativeSection(ctx) {
  const ns = { getpid: 2_000_000, getuid: 2_000_000, forkwait: 5_000 };
  const rows = [];
  for (const mode of MODES) {
    if (!ctx.selected(`native.${mode}`)) continue;
    rows.push(await workloadRow(ctx, {
      id: `native.${mode}`, label: `native ${mode}`, n: ns[mode], mode,
      needs: ['workload'], argv: [ctx.bins.workload ?? 'workload', mode, String(ns[mode])],
    }));
  }
  return { title: 'native (no supervisor)', rows };
}

// A domain section: the workload under `vdomain run [extra] -- workload MODE N`.
function domainSection({ key, title, cliArgs, ns, targets }) {
  return async (ctx) => {
    const rows = [];
    for (const mode of MODES) {
      const id = `${key}.${mode}`;
      if (!ctx.selected(id)) continue;
      rows.push(await workloadRow(ctx, {
        id, label: `${key} ${mode}`, n: ns[mode], mode, needs: ['workload'], needsCli: true,
        argv: [process.execPath, CLI, 'run', ...cliArgs, '--', ctx.bins.workload ?? 'workload', mode, String(ns[mode])],
      }));
    }
    for (const row of rows) {
      const mode = row.id.split('.')[1];
      const t = targets[mode] ?? {};
      check(row, ctx.byId.get(`native.${mode}`), 'native', t.native ?? null);
      if (mode === 'getpid' && t.floor != null) check(row, ctx.byId.get('floor'), 'floor', t.floor);
    }
    return { title, rows };
  };
}

const identitySection = domainSection({
  key: 'identity',
  title: 'identity domain: vdomain run -- workload',
  cliArgs: [],
  ns: { getpid: 2_000_000, getuid: 2_000_000, forkwait: 5_000 },
  targets: { getpid: { native: 1.05 }, getuid: { native: 1.05 }, forkwait: { native: 1.05 } },
});

const remappedSection = domainSection({
  key: 'remapped',
  title: 'remapped domain: vdomain run --vpid-base 50000 -- workload',
  cliArgs: ['--vpid-base', '50000'],
  ns: { getpid: 200_000, getuid: 2_000_000, forkwait: 2_000 },
  targets: { getpid: { floor: 1.3 }, getuid: { native: 1.05 }, forkwait: { native: 2 } },
});

// Append new sections here (e.g. checkpoint/restore timings).
const SECTIONS = [nativeSection, floorSection, identitySection, remappedSection];

// ---------------------------------------------------------------- main

function hostInfo() {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const cpus = os.cpus();
  return {
    kernel: os.release(),
    arch: os.arch(),
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? null,
    node: process.version,
    loadavg: os.loadavg(),
    git: git.status === 0 ? git.stdout.trim() : null,
    uid: process.getuid?.() ?? null,
  };
}

async function main() {
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

  const ctx = {
    opts, bins, buildErrors, cli: CLI, root: ROOT,
    byId: new Map(),
    // Reference rows (floor, native) always run: the ratios need them.
    selected: (id) => !opts.only || id.includes(opts.only) || id === 'floor' || id.startsWith('native.'),
  };

  console.log(`vdomain bench — ${os.release()}, ${os.cpus().length} CPUs, node ${process.version}, ${opts.reps} reps (median)`);
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
  const errorsN = all.filter((r) => r.status === 'error').length;
  console.log(`\ntargets: ${count('PASS')} PASS, ${count('MISS')} MISS, ${count('error') + count('n/a')} not measured; ${errorsN} row(s) with errors`);

  const results = {
    version: 1,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    host: hostInfo(),
    options: { reps: opts.reps, only: opts.only, timeout_s: opts.timeoutMs / 1000 },
    build_errors: buildErrors,
    sections: sections.map((s) => ({ title: s.title, error: s.error, rows: s.rows })),
    summary: { pass: count('PASS'), miss: count('MISS'), not_measured: count('error') + count('n/a'), error_rows: errorsN },
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
