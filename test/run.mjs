#!/usr/bin/env node
// Runs every compiled uvu test file (dist/test/**/*.test.js), each in its own
// process, and ends with one line "N passed, N failed" (the line CI reads).
//   node test/run.mjs [SUBSTRING]   only files whose path contains SUBSTRING
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The tests' jobs inherit only the standard streams: a descriptor this runner
// itself inherited (a shell or IDE leaks some, e.g. fd 251) would otherwise reach
// every job below it. Node's own descriptors are close-on-exec; inherited ones are not.
for (const name of fs.readdirSync('/proc/self/fd')) {
  const fd = Number(name);
  if (fd < 3) continue;
  try {
    const flags = parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8);
    if (!(flags & 0o2000000)) fs.closeSync(fd);
  } catch {
    // gone already (the directory listing's own fd)
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], { stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

function find(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return find(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

const only = process.argv[2];
const files = find(path.join(root, 'dist', 'test')).filter((f) => !only || f.includes(only)).sort();
let passed = 0;
let failed = 0;
for (const file of files) {
  const rel = path.relative(root, file);
  process.stdout.write(`\n# ${rel}\n`);
  const r = spawnSync(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 15 * 60 * 1000 });
  process.stdout.write(r.stdout ?? '');
  const total = Number(/Total:\s+(\d+)/.exec(r.stdout ?? '')?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(r.stdout ?? '')?.[1] ?? 0);
  passed += ok;
  failed += total - ok;
  if (r.status !== 0 && total === ok) {
    failed += 1; // crashed or timed out outside any test
    process.stdout.write(`# ${rel} exited with ${r.status ?? r.signal}\n`);
  }
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
