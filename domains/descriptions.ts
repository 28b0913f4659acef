// Which of a tree's fds are one open file description, and which must be made
// once before the tree forks: a description held by more than one fd (after dup
// or fork: they share position and flags; a deleted file too, made again from
// the contents its first holder saved) and every pipe end (a restorer cannot
// make half a pipe). Pure logic on the dumper's per-fd facts; the keeper's child
// makes the list (make_shared_files in native/keeper/restore_child.c).
import type { FdImage, ProcessImage, SharedFileImage } from '../supervisor/manifest';

/**
 * Rewrites the fds that hold such a description to kind 'shared' (pointing into
 * the returned list) and returns the list. Other fds are left as they are.
 */
export function shareDescriptions(processes: ProcessImage[]): SharedFileImage[] {
  const holders = new Map<string, { proc: ProcessImage; fd: FdImage }[]>();
  for (const proc of processes)
    for (const fd of proc.fds) {
      if (!fd.desc || fd.kind === 'stdio') continue;
      holders.set(fd.desc, [...(holders.get(fd.desc) ?? []), { proc, fd }]);
    }
  const shared: SharedFileImage[] = [];
  for (const [, held] of holders) {
    const first = held[0].fd;
    if (held.length < 2 && first.kind !== 'pipe') continue;
    // (a kind of the kinds table held twice is refused at checkpoint)
    const kind: SharedFileImage['kind'] | undefined =
      first.kind === 'copy' ? 'deleted' : first.kind === 'path' ? 'path' : first.kind === 'pipe' ? 'pipe' : undefined;
    if (!kind) continue;
    const entry: SharedFileImage = {
      kind,
      flags: first.flags,
      pos: first.pos,
      holders: held.map((h) => `${h.proc.vpid}:${h.fd.fd}`),
    };
    if (first.kind === 'path') entry.path = first.path;
    else if (first.kind === 'copy') {
      // its contents were saved once, with the first fd found holding it
      const saved = held.find((h) => h.fd.content)!;
      const { extents, size, mode, uid, gid } = saved.fd;
      Object.assign(entry, { path: first.path, content: { file: saved.proc.pagesFile, ...saved.fd.content! } });
      if (extents) Object.assign(entry, { extents, size, mode, uid, gid });
    }
    else Object.assign(entry, { pipe: first.pipe, end: first.end }, first.fifo ? { fifo: first.fifo } : {});
    for (const h of held) {
      h.fd.kind = 'shared';
      h.fd.shared = shared.length;
    }
    shared.push(entry);
  }
  // a pipe's bytes were saved once, with whichever fd of either end came first:
  // they go with the pipe's first entry
  for (const proc of processes)
    for (const fd of proc.fds)
      if (fd.pipe !== undefined && fd.content) {
        const e = shared.find((x) => x.pipe === fd.pipe && x.fifo === fd.fifo)!;
        Object.assign(e, { pipeSize: fd.pipeSize, content: { file: proc.pagesFile, ...fd.content } });
      }
  return shared;
}
