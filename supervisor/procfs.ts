// The processes of a domain, read from /proc: everything below its keeper (the
// keeper is a subreaper, so daemons that double-forked are still below it).
import fs from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  comm: string;
  state: string;
  threads: number[];
}

export function readStat(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  let threads: number[] = [];
  try {
    threads = fs.readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
  } catch {
    // gone meanwhile
  }
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: fields[0],
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    sid: Number(fields[3]),
    threads,
  };
}

/** All processes below `ancestor`, parents before children. */
export function descendants(ancestor: number): ProcInfo[] {
  const all = new Map<number, ProcInfo>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readStat(Number(entry));
    if (info) all.set(info.pid, info);
  }
  const children = new Map<number, ProcInfo[]>();
  for (const p of all.values()) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const out: ProcInfo[] = [];
  const queue = [...(children.get(ancestor) ?? [])];
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** A process's credentials from /proc/PID/status: "real effective saved fs" uids and gids, and its groups. */
export function readCredentials(pid: number | 'self'): { uids: string; gids: string; groups: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => (new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text)?.[1] ?? '').trim().split(/\s+/).join(' ');
  return { uids: field('Uid'), gids: field('Gid'), groups: field('Groups') };
}

/** The supplementary groups of this process as the kernel has them (process.getgroups() adds the egid). */
export function ownGroups(): number[] {
  return readCredentials('self')!.groups.split(' ').filter(Boolean).map(Number);
}
