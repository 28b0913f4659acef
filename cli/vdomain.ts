#!/usr/bin/env node
// The vdomain command. Parsing, output and exit statuses only: the work is in
// supervisor/. Modules a command does not need are loaded lazily (start-up time
// is part of every command's cost).
import './startup';
import '../supervisor/inherited';  // before this command opens anything
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { EXIT, UserError } from './errors';
import type { RunOptions } from '../supervisor/run';

// Output to a reader that went away (`vdomain inspect … | head`): stop quietly, as
// other tools do, instead of failing on EPIPE.
function writeOut(fd: number, s: string) {
  try {
    fs.writeSync(fd, s);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  }
}
const say = (s: string) => writeOut(1, s);
const complain = (s: string) => writeOut(2, s);

function intIn(lo: number, hi: number, what: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi)
      throw new InvalidArgumentError(`${what} must be an integer from ${lo} to ${hi}`);
    return Number(v);
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function checkLogLevel(level?: string) {
  if (level && !LOG_LEVELS.includes(level)) throw new UserError(`unknown log level '${level}'`, EXIT.USAGE);
}

type RunFlags = Omit<RunOptions, 'argv'>;

function program(): Command {
  const p = new Command('vdomain')
    .description('transparent checkpoint/restart of Linux jobs, without root')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: say, writeErr: complain, outputError: (s, write) => write(s) })
    .showSuggestionAfterError(false);

  p.command('run')
    .description('run a job as the root of a new mapping domain, in the foreground')
    .argument('<command...>', 'the job: program and arguments (put them after --)')
    .option('--name <name>', 'domain name (default: program-PID)')
    .option('--vpid-base <n>', 'number the domain\'s PIDs from N (remapped domain)', intIn(1, 4194000, '--vpid-base'))
    .option('--log-level <level>', `supervisor log level (${LOG_LEVELS.join(', ')}); env VDOMAIN_LOG_LEVEL`)
    .option('--interval <seconds>', 'checkpoint the job every SECONDS', intIn(1, 31536000, '--interval'))
    .option('--keep <k>', 'with --interval: keep the last K images (default 3)', intIn(1, 1000, '--keep'))
    .option('--checkpoint-dir <dir>', 'with --interval: where the images go (default: the current directory)')
    .option('--host-ipc', "share the host's System V IPC objects (checkpoint then refuses those the job uses)")
    .passThroughOptions()
    .action(async (command: string[], o: RunFlags) => {
      checkLogLevel(o.logLevel);
      if ((o.keep || o.checkpointDir) && !o.interval)
        throw new UserError('--keep and --checkpoint-dir go with --interval', EXIT.USAGE);
      const { runDomain } = await import('../supervisor/run');
      process.exitCode = await runDomain({
        argv: command,
        name: o.name,
        vpidBase: o.vpidBase,
        logLevel: o.logLevel,
        interval: o.interval,
        keep: o.interval ? (o.keep ?? 3) : undefined,
        checkpointDir: o.checkpointDir,
        hostIpc: o.hostIpc ?? false,
      });
    });

  p.command('checkpoint')
    .description('write an image of a running domain; print its path')
    .argument('<name>', 'the domain (see vdomain list)')
    .option('-o, --output <dir>', 'the image directory to create (default: ./NAME-TIME.vdimg)')
    .option('--kill', 'end the job once the image is safely written')
    .option('--json', 'print the path and timings as JSON')
    .action(async (name: string, o: { output?: string; kill?: boolean; json?: boolean }) => {
      const { checkpointDomain } = await import('../supervisor/checkpoint');
      const r = await checkpointDomain({ name, output: o.output, kill: o.kill });
      say(o.json ? JSON.stringify(r) + '\n' : r.path + '\n');
    });

  p.command('restore')
    .description('bring a job back from an image, in the foreground; exit with its status')
    .argument('<image>', 'the image directory')
    .option('--name <name>', 'domain name (default: the image\'s, or a new one while that runs)')
    .option('--log-level <level>', `supervisor log level (${LOG_LEVELS.join(', ')})`)
    .option('--as-recorded-user', "root only: restore another user's image as that user (never as root)")
    .action(async (image: string, o: { name?: string; logLevel?: string; asRecordedUser?: boolean }) => {
      checkLogLevel(o.logLevel);
      const { restoreImage } = await import('../supervisor/restore');
      process.exitCode = await restoreImage({ dir: image, name: o.name, logLevel: o.logLevel, asRecordedUser: o.asRecordedUser });
    });

  p.command('inspect')
    .description('show what an image holds')
    .argument('<image>', 'the image directory')
    .option('--json', 'machine-readable output')
    .action(async (image: string, o: { json?: boolean }) => {
      const { inspectImage, formatInspect } = await import('../supervisor/inspect');
      const s = inspectImage(path.resolve(image));
      say(o.json ? JSON.stringify(s, null, 2) + '\n' : formatInspect(s));
    });

  p.command('list')
    .description("show the user's running domains")
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const { listDomains, formatList } = await import('../supervisor/list');
      const domains = await listDomains();
      say(o.json ? JSON.stringify(domains, null, 2) + '\n' : formatList(domains));
    });

  p.command('syscalls')
    .description('show which system calls a remapped domain translates, and how')
    .action(async () => {
      const { formatSyscallTable } = await import('../domains/syscalls');
      say(formatSyscallTable());
    });

  return p;
}

async function main() {
  try {
    await program().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are not errors; everything else commander rejects is usage
      process.exitCode = e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    if (e instanceof UserError) {
      complain(`vdomain: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    complain(`vdomain: internal error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = EXIT.FAILURE;
  }
}

void main();
