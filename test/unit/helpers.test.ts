// Unit tests of small pure helpers: shellStatus (supervisor/events.ts), validName
// (supervisor/paths.ts) and resolveCommand (supervisor/run.ts). Importing run.ts
// loads pino and the control server module but starts nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT, UserError } from '../../cli/errors';
import { shellStatus } from '../../supervisor/events';
import { validName } from '../../supervisor/paths';
import { defaultName, resolveCommand } from '../../supervisor/run';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vdomain-unit-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs fn and returns the UserError it throws (fails the test otherwise). */
function userError(fn: () => unknown): UserError {
  try {
    const r = fn();
    assert.unreachable(`expected a UserError, got ${JSON.stringify(r)}`);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return e;
  }
  throw new Error('unreachable');
}

function withPath<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.PATH;
  if (value === undefined) delete process.env.PATH;
  else process.env.PATH = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.PATH;
    else process.env.PATH = saved;
  }
}

// ---- shellStatus ----

test('shellStatus: normal exit gives the code', () => {
  assert.is(shellStatus(0x0700), 7);
  assert.is(shellStatus(0x0000), 0);
  assert.is(shellStatus(0x0100), 1);
  assert.is(shellStatus(0xff00), 255);
});

test('shellStatus: death by signal gives 128 + signal', () => {
  assert.is(shellStatus(0x000f), 143); // SIGTERM
  assert.is(shellStatus(0x0009), 137); // SIGKILL
  assert.is(shellStatus(0x0002), 130); // SIGINT
  assert.is(shellStatus(0x0080 | 11), 139); // SIGSEGV with core dump flag
});

// ---- validName ----

test('validName accepts plain names', () => {
  for (const n of ['job-1', 'a.b_c', 'a', 'A9', '0', 'x'.repeat(64), 'a-.-_']) {
    assert.ok(validName(n), JSON.stringify(n));
  }
});

test('validName rejects anything else', () => {
  for (const n of [
    '', '../x', 'a/b', '/abs', 'x'.repeat(65), '-x', '.x', '.', '..', '_x',
    'a b', 'a\nb', 'abc\n', 'é', 'a:b', 'a\\b', 'a\0b',
  ]) {
    assert.not.ok(validName(n), JSON.stringify(n));
  }
});

// ---- resolveCommand ----

test('resolveCommand finds sh on PATH', () => {
  const p = resolveCommand('sh');
  assert.ok(path.isAbsolute(p) || p.includes('/'), p);
  assert.is(path.basename(p), 'sh');
  fs.accessSync(p, fs.constants.X_OK);
});

test('resolveCommand: missing command on PATH → 127', () => {
  const e = userError(() => resolveCommand('no-such-command-xyz'));
  assert.is(e.exitCode, 127);
  assert.is(e.exitCode, EXIT.NOT_FOUND);
  assert.match(e.message, /no-such-command-xyz/);
});

test('resolveCommand: missing path → 127', () => {
  const e = userError(() => resolveCommand('/nonexistent/path'));
  assert.is(e.exitCode, 127);
});

test('resolveCommand: file without the x bit → 126', () => {
  const f = path.join(tmp, 'noexec.sh');
  fs.writeFileSync(f, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  fs.chmodSync(f, 0o644);
  const e = userError(() => resolveCommand(f));
  assert.is(e.exitCode, 126);
  assert.is(e.exitCode, EXIT.NOT_EXECUTABLE);
});

test('resolveCommand: a directory → 126', () => {
  const e = userError(() => resolveCommand(tmp));
  assert.is(e.exitCode, 126);
});

test('resolveCommand: an executable path is returned as given', () => {
  const f = path.join(tmp, 'exec.sh');
  fs.writeFileSync(f, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  fs.chmodSync(f, 0o755);
  assert.is(resolveCommand(f), f);
});

test('resolveCommand: bare name found only as non-executable on PATH → 126', () => {
  const dir = path.join(tmp, 'bin-noexec');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'tool-xyz'), 'data\n', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'tool-xyz'), 0o644);
  const e = withPath(dir, () => userError(() => resolveCommand('tool-xyz')));
  assert.is(e.exitCode, 126);
});

test('resolveCommand: a later executable on PATH wins over an earlier non-executable', () => {
  const a = path.join(tmp, 'bin-a');
  const b = path.join(tmp, 'bin-b');
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  fs.writeFileSync(path.join(a, 'tool-abc'), 'data\n', { mode: 0o644 });
  fs.chmodSync(path.join(a, 'tool-abc'), 0o644);
  fs.writeFileSync(path.join(b, 'tool-abc'), '#!/bin/sh\n', { mode: 0o755 });
  fs.chmodSync(path.join(b, 'tool-abc'), 0o755);
  assert.is(withPath(`${a}:${b}`, () => resolveCommand('tool-abc')), path.join(b, 'tool-abc'));
});

test('resolveCommand: PATH without the command → 127', () => {
  const e = withPath('/nonexistent-dir-xyz', () => userError(() => resolveCommand('sh')));
  assert.is(e.exitCode, 127);
});

test('defaultName is always a valid domain name', () => {
  for (const prog of ['./.hidden', './_build.sh', 'x'.repeat(80), './été', '/usr/bin/sleep', '---'])
    assert.ok(validName(defaultName(prog)), `${prog} → ${defaultName(prog)}`);
  assert.match(defaultName('/usr/bin/sleep'), /^sleep-\d+$/);
});

test.run();
