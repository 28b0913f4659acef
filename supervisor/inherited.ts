// The descriptors this command inherited beyond 0-2 (`vdomain run -- job 3<file`,
// a pipe from the launching program on fd 5): `run` gives them to the job at
// their numbers, as descriptions from outside the domain; `restore` binds a
// job's such fd to the one of the same number it got itself.
//
// Node marks fds 3-15 close-on-exec as it starts, so which it inherited cannot
// be told by that flag: read at load (the command's first import), they are
// those that are not node's own (its event-loop anon_inodes, and pipes whose
// both ends it holds), nor a read-only /dev/null (node opens one of those; an
// inherited one is not recognised).
import fs from 'node:fs';

function inheritedFds(): number[] {
  const seen: { fd: number; target: string; flags: number }[] = [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  for (const name of names) {
    const fd = Number(name);
    if (fd < 3) continue;
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      const flags = parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8);
      seen.push({ fd, target, flags });
    } catch {
      // (the directory listing's own fd, gone)
    }
  }
  const count = new Map<string, number>();
  for (const s of seen) count.set(s.target, (count.get(s.target) ?? 0) + 1);
  return seen
    .filter((s) => !s.target.startsWith('anon_inode:'))
    .filter((s) => !(s.target.startsWith('pipe:') && (count.get(s.target) ?? 0) > 1 && s.flags & 0o2000000))
    .filter((s) => !(s.target === '/dev/null' && (s.flags & 3) === 0 && s.flags & 0o2000000))
    .map((s) => s.fd)
    .sort((a, b) => a - b);
}

export const INHERITED_FDS: readonly number[] = inheritedFds();
