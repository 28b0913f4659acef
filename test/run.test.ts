// `vdomain run` on the real kernel path: C workloads under identity and remapped
// domains, as root and as an unprivileged user.
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  alive, compile, listJson, processesMatching, sleep, until, USERS, vdomain, vdomainBackground,
  vpidBaseAbovePidMax, WORK, stateDirFor,
} from './helpers';

const run = suite('vdomain run');
const base = vpidBaseAbovePidMax();

/** "pid KEY VALUE" lines of pidview */
function seenPids(stdout: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'pid' && f.length === 3) m.set(f[1], Number(f[2]));
  }
  return m;
}

function noStrays() {
  const strays = processesMatching(WORK);
  assert.equal(strays, [], `stray processes: ${strays}`);
}

for (const { label, uid } of USERS) {
  run(`identity domain: pidview sees one consistent view (${label})`, async () => {
    const pidview = compile('pidview');
    const name = `id-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', pidview]);
    job.child.stdin.end('');
    assert.is(await job.exited, 0, job.stdout + job.stderr);
    assert.match(job.stdout, /RESULT ok/);
    noStrays();
  });

  run(`remapped domain: consistent, and no real PID ever reaches the job (${label})`, async () => {
    const pidview = compile('pidview');
    const name = `remap-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--vpid-base', String(base), '--', 'env', 'PIDVIEW_HOLD=1', pidview]);
    await job.waitFor(/^HOLD$/m);
    const domains = listJson(uid);
    const d = domains.find((x) => x.name === name);
    assert.ok(d, `domain ${name} in list: ${JSON.stringify(domains)}`);
    assert.is(d.mode, 'remapped');
    assert.is(d.root.vpid, base);
    assert.is.not(d.root.pid, base);
    const reals = new Set<number>();
    for (const p of d.processes) {
      reals.add(p.pid);
      for (const t of p.threads) reals.add(t.tid);
      assert.ok(p.vpid >= base, `vpid ${p.vpid} of ${p.pid}`);
    }
    assert.ok(d.processes.length >= 2, 'pidview and its holder child are listed');
    const seen = seenPids(job.stdout);
    assert.is(seen.get('self'), base);
    assert.is(seen.get('holder'), d.processes.find((p: any) => p.pid !== d.root.pid)?.vpid);
    for (const [key, v] of seen) {
      assert.ok(v === 0 || v >= base, `${key} = ${v} is not virtual`);
      assert.not.ok(reals.has(v), `${key} = ${v} is a real PID`);
    }
    job.child.stdin.end('go\n');
    assert.is(await job.exited, 0, job.stdout + job.stderr);
    assert.match(job.stdout, /stdin go/);
    assert.match(job.stdout, /RESULT ok/);
    noStrays();
  });

  run(`exit status mirrors the job's (${label})`, () => {
    for (const mode of [[], ['--vpid-base', String(base)]]) {
      assert.is(vdomain(uid, ['run', ...mode, '--', 'sh', '-c', 'exit 7']).status, 7);
      assert.is(vdomain(uid, ['run', ...mode, '--', 'sh', '-c', 'kill -TERM $$']).status, 143);
      assert.is(vdomain(uid, ['run', ...mode, '--', 'true']).status, 0);
    }
  });

  run(`job control: a child stopped, seen stopped, continued by its PID and reaped (${label})`, () => {
    // a stop reported by waitpid(WUNTRACED) is no reap: its PID stays the child's
    const jobctl = compile('jobctl');
    for (const mode of [[], ['--vpid-base', String(base)]]) {
      const r = vdomain(uid, ['run', ...mode, '--', jobctl], { timeoutMs: 20_000 });
      assert.is(r.status, 0, `${mode.join(' ')}: ${r.stderr}`);
      assert.is(r.stdout, 'jobctl stopped=ok cont=ok reaped=ok\n', mode.join(' '));
    }
  });

  run(`stdin and stdout pass through (${label})`, () => {
    const r = vdomain(uid, ['run', '--vpid-base', String(base), '--', 'cat'], { input: 'line one\nline two\n' });
    assert.is(r.status, 0);
    assert.is(r.stdout, 'line one\nline two\n');
  });

  run(`a job that execs stays in the domain (${label})`, () => {
    const r = vdomain(uid, ['run', '--vpid-base', String(base), '--', 'sh', '-c', 'exec sh -c "echo \\$\\$; exec sh -c \'echo \\$\\$\'"']);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, `${base}\n${base}\n`);
  });

  run(`a static binary is translated too (${label})`, () => {
    let pidview: string;
    try {
      pidview = compile('pidview', ['-static']);
    } catch {
      return; // no static libc on this machine: covered by the dynamic runs
    }
    const r = vdomain(uid, ['run', '--vpid-base', String(base), '--', pidview]);
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`pid self ${base}\\n`));
    assert.match(r.stdout, /RESULT ok/);
  });

  run(`bad input: one line, distinct status, nothing left behind (${label})`, () => {
    const badInterpreter = path.join(WORK, 'bad-interpreter');
    fs.writeFileSync(badInterpreter, '#!/nonexistent/interpreter\n', { mode: 0o755 });
    const cases: [string[], number, RegExp][] = [
      [['run'], 2, /command/],
      [['run', '--bogus', '--', 'true'], 2, /unknown option/],
      [['run', '--vpid-base', 'abc', '--', 'true'], 2, /vpid-base/],
      [['run', '--vpid-base', '0', '--', 'true'], 2, /vpid-base/],
      [['run', '--name', '../x', '--', 'true'], 2, /name/],
      [['run', '--', 'no-such-command-xyz'], 127, /not found/],
      [['run', '--', path.join(WORK, 'nope')], 127, /no such file/],
      [['run', '--', WORK], 126, /not executable/],
      [['frobnicate'], 2, /unknown command/],
      [['run', '--', badInterpreter], 126, /bad interpreter/],
    ];
    for (const [args, status, msg] of cases) {
      const r = vdomain(uid, args);
      assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    noStrays();
  });

  run(`a duplicate domain name is refused (${label})`, async () => {
    const name = `dup-${uid}`;
    const first = vdomainBackground(uid, ['run', '--name', name, '--', 'sh', '-c', 'echo up; read x']);
    await first.waitFor(/up/);
    const r = vdomain(uid, ['run', '--name', name, '--', 'true']);
    assert.is(r.status, 4);
    assert.match(r.stderr, /already running/);
    first.child.stdin.end('\n');
    assert.is(await first.exited, 0);
  });

  run(`a remapped job dies with its supervisor (${label})`, async () => {
    const name = `sk-remapped-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--vpid-base', String(base), '--', 'sh', '-c', 'sleep 300 & echo up; wait']);
    await job.waitFor(/up/);
    const d = listJson(uid).find((x) => x.name === name);
    const pids: number[] = d.processes.map((p: any) => p.pid);
    assert.ok(pids.length >= 2);
    process.kill(d.supervisorPid, 'SIGKILL');
    assert.ok(await until(() => pids.every((p) => !alive(p)) && !alive(d.keeperPid)), `still alive: ${pids.filter(alive)}`);
    await job.exited;
    // the dead supervisor's socket is cleaned up by the next list
    assert.not.ok(listJson(uid).some((x) => x.name === name));
  });

  run(`an identity job outlives a killed supervisor; its keeper still reaps it (${label})`, async () => {
    const name = `sk-identity-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--', 'sh', '-c', 'sleep 300 & echo up; wait']);
    await job.waitFor(/up/);
    const d = listJson(uid).find((x) => x.name === name);
    const pids: number[] = d.processes.map((p: any) => p.pid);
    assert.ok(pids.length >= 2);
    process.kill(d.supervisorPid, 'SIGKILL');
    await sleep(300);
    assert.ok(pids.every(alive), 'the job runs on');
    assert.ok(alive(d.keeperPid), 'the keeper stays, reaping');
    assert.not.ok(listJson(uid).some((x) => x.name === name), 'no longer a listed domain');
    for (const p of pids) process.kill(p, 'SIGKILL');
    await job.exited;
    // the keeper, now a child of init, ends once the domain is empty
    assert.ok(await until(() => !alive(d.keeperPid)), 'the keeper leaves once the domain is empty');
  });

  run(`the domain outlives its root while processes remain, still virtual (${label})`, async () => {
    const name = `daemon-${uid}`;
    const job = vdomainBackground(uid, ['run', '--name', name, '--vpid-base', String(base), '--',
      'sh', '-c', 'exec 3<&0; (read x <&3; sh -c "echo daemon \\$\\$ parent \\$PPID") & exit 5']);
    assert.ok(await until(() => listJson(uid).find((x) => x.name === name)?.state === 'root-exited'), 'root exited');
    const d = listJson(uid).find((x) => x.name === name);
    assert.is(d.root.exitStatus, 5);
    assert.ok(d.processes.length >= 1);
    assert.ok(d.processes.every((p: any) => p.vpid >= base));
    job.child.stdin.end('go\n');
    assert.is(await job.exited, 5);
    const m = /daemon (\d+) parent (\d+)/.exec(job.stdout);
    assert.ok(m, job.stdout);
    assert.ok(Number(m![1]) > base);
  });

  run(`the supervisor logs to its own file, never into the job's output (${label})`, () => {
    const name = `log-${uid}`;
    const r = vdomain(uid, ['run', '--name', name, '--log-level', 'debug', '--', 'echo', 'only this']);
    assert.is(r.status, 0);
    assert.is(r.stdout, 'only this\n');
    assert.is(r.stderr, '');
    const log = fs.readFileSync(path.join(stateDirFor(uid), 'log', `${name}.log`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(log.some((e) => e.msg === 'domain started'));
    assert.ok(log.some((e) => e.msg === 'root exited'));
    assert.not.ok(fs.existsSync(path.join(stateDirFor(uid), `${name}.sock`)), 'the supervisor removed its socket');
  });
}

run('list with no domains', () => {
  const uid = USERS[0].uid;
  assert.equal(listJson(uid).filter((d) => d.name.startsWith('none-')), []);
  const r = vdomain(uid, ['list']);
  assert.is(r.status, 0);
});

run.after(async () => {
  await sleep(10);
});

run.run();
