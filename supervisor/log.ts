// The supervisor's log: JSON lines (pino) in the domain's own log file, never in
// the job's output. Loading pino costs ~20 ms on this machine, which would delay
// every job's start and every restore: entries made before open() wait in memory
// (with their own time) and are written once the job runs.
import fs from 'node:fs';
import type { Logger } from 'pino';

const O_NONBLOCK = 0o4000;
/** fd 2's status flags (0 when they cannot be read). */
function stderrFlags(): number {
  try {
    return parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync('/proc/self/fdinfo/2', 'utf8'))?.[1] ?? '0', 8);
  } catch {
    return 0;
  }
}

export type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Entry = { level: Level; at: number; obj: object | string; msg?: string };

export class DomainLog {
  private real?: Logger;
  private pending: Entry[] = [];
  private stamp: number | null = null;

  constructor(private readonly opts: { name: string; level: string; file: string }) {}

  /** Loads pino and writes what waited. Idempotent. */
  open(): void {
    if (this.real) return;
    // Loading pino loads node:assert, which opens process.stderr: on a pipe that
    // makes the description non-blocking, and the job shares it. Put it back.
    const stderrWasBlocking = !(stderrFlags() & O_NONBLOCK);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = require('pino') as typeof import('pino');
    if (stderrWasBlocking && stderrFlags() & O_NONBLOCK)
      (process.stderr as unknown as { _handle?: { setBlocking?: (b: boolean) => void } })._handle?.setBlocking?.(true);
    this.real = pino.default(
      {
        level: this.opts.level,
        base: { domain: this.opts.name },
        // a waiting entry keeps the time it was made
        timestamp: () => `,"time":${this.stamp ?? Date.now()}`,
      },
      pino.default.destination({ dest: this.opts.file, sync: true, mode: 0o600 }),
    );
    for (const e of this.pending) {
      this.stamp = e.at;
      this.write(e.level, e.obj, e.msg);
    }
    this.stamp = null;
    this.pending = [];
  }

  log(level: Level, obj: object | string, msg?: string): void {
    if (this.real) this.write(level, obj, msg);
    else this.pending.push({ level, at: Date.now(), obj, msg });
  }
  info(obj: object | string, msg?: string) { this.log('info', obj, msg); }
  warn(obj: object | string, msg?: string) { this.log('warn', obj, msg); }
  error(obj: object | string, msg?: string) { this.log('error', obj, msg); }

  private write(level: Level, obj: object | string, msg?: string) {
    if (typeof obj === 'string') this.real![level](obj);
    else this.real![level](obj, msg);
  }
}
