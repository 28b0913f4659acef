// `vdomain list`: asks every supervisor of the user for its domain's state.
import fs from 'node:fs';
import { EXIT, UserError } from '../cli/errors';
import { domainSockets, probe, request } from './control';
import { checkStateDirOwner } from './paths';
import type { DomainStatus } from './run';

/** How long one supervisor may take to answer: a busy or hung one must not hold up the list. */
const ANSWER_MS = 2000;

export async function listDomains(): Promise<DomainStatus[]> {
  checkStateDirOwner();
  // every supervisor asked at once, each with its own time limit
  const answers = await Promise.all(
    domainSockets().map(async (s) => {
      try {
        return (await request(s.path, { op: 'list' }, ANSWER_MS)) as DomainStatus;
      } catch {
        // a supervisor that died without cleaning up leaves a dead socket behind
        if ((await probe(s.path, ANSWER_MS)) === 'stale') {
          try {
            fs.rmSync(s.path, { force: true });
          } catch (e) {
            throw new UserError(`${s.path}: the socket of a supervisor that is gone, which cannot be removed (${(e as NodeJS.ErrnoException).code})`, EXIT.STATE_DIR);
          }
        }
        return undefined;
      }
    }),
  );
  return answers.filter((d): d is DomainStatus => d !== undefined).sort((a, b) => a.name.localeCompare(b.name));
}

export function formatList(domains: DomainStatus[]): string {
  if (!domains.length) return 'no running domains\n';
  const lines: string[] = [];
  for (const d of domains) {
    // the mode as the supervisor reports it (a remapped restore knows no --vpid-base)
    const base = d.mode === 'identity' ? 'identity' : d.vpidBase ? `remapped from ${d.vpidBase}` : 'remapped';
    const ipc = d.ipc === 'host' ? "  host's IPC" : '';
    lines.push(`${d.name}  ${d.state}  ${base}${ipc}  supervisor ${d.supervisorPid}  ${d.command.join(' ')}`);
    lines.push('    VPID     PID   VPPID   VPGID    VSID  THR  COMMAND');
    for (const p of d.processes) {
      const cols = [p.vpid, p.pid, p.vppid, p.vpgid, p.vsid].map((n) => String(n).padStart(7)).join(' ');
      lines.push(` ${cols} ${String(p.threads.length).padStart(4)}  ${p.comm}`);
    }
  }
  return lines.join('\n') + '\n';
}
