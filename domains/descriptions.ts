// Which of a tree's fds are one open file description, and which must be made
// once before the tree forks: a description held by more than one fd (after dup
// or fork: they share position and flags; a deleted file too, made again from
// the contents its first holder saved) and every pipe end (a restorer cannot
// make half a pipe), every end of a pty pair (likewise), and every deleted file a process maps (its mappings and
// fds are one file). Pure logic on the dumper's per-fd facts; the keeper's child
// makes the list (make_shared_files in native/keeper/restore_child.c).
import type { FdImage, ProcessImage, SharedFileImage, VmaImage } from '../supervisor/manifest';

/**
 * Rewrites the fds that hold such a description to kind 'shared' (pointing into
 * the returned list) and returns the list. Other fds are left as they are.
 */
export function shareDescriptions(processes: ProcessImage[]): SharedFileImage[] {
  // deleted files mapped: every mapping of one, and every description holding
  // it, is one file made once (VmaImage.deletedFile, FdImage.file)
  const mappings = new Map<string, { proc: ProcessImage; vma: VmaImage }[]>();
  for (const proc of processes)
    for (const vma of proc.vmas)
      if (vma.deletedFile) mappings.set(vma.deletedFile, [...(mappings.get(vma.deletedFile) ?? []), { proc, vma }]);
  const entryOfFile = new Map<string, number>();
  const holders = new Map<string, { proc: ProcessImage; fd: FdImage }[]>();
  for (const proc of processes)
    for (const fd of proc.fds) {
      if (!fd.desc || fd.kind === 'stdio') continue;
      holders.set(fd.desc, [...(holders.get(fd.desc) ?? []), { proc, fd }]);
    }
  const shared: SharedFileImage[] = [];
  for (const [, held] of holders) {
    const first = held[0].fd;
    const mapped = first.kind === 'copy' && first.file !== undefined && mappings.has(first.file);
    // (a pty's ends too: its pair is made at once)
    if (held.length < 2 && first.kind !== 'pipe' && first.kind !== 'pty' && !mapped) continue;
    // (a kind of the kinds table held twice is refused at checkpoint, but a mqueue: its keeper opens it)
    const kind: SharedFileImage['kind'] | undefined =
      first.kind === 'copy' ? 'deleted' : first.kind === 'path' ? 'path' : first.kind === 'pipe' ? 'pipe' : first.kind === 'mqueue' ? 'mqueue' : first.kind === 'pty' ? 'pty' : undefined;
    if (!kind) continue;
    const entry: SharedFileImage = {
      kind,
      flags: first.flags,
      pos: first.pos,
      holders: held.map((h) => `${h.proc.vpid}:${h.fd.fd}`),
    };
    if (first.kind === 'path') entry.path = first.path;
    else if (first.kind === 'mqueue') entry.name = (first.state as { name: string }).name;
    else if (first.kind === 'pty') entry.pty = first.state as SharedFileImage['pty'];
    else if (first.kind === 'copy') {
      // its contents were saved once, with the first fd found holding it
      const saved = held.find((h) => h.fd.content)!;
      const { extents, size, mode, uid, gid, memfd, seals } = saved.fd;
      Object.assign(entry, { path: first.path, content: { file: saved.proc.pagesFile, ...saved.fd.content! } });
      if (extents) Object.assign(entry, { extents, size, mode, uid, gid });
      if (memfd) Object.assign(entry, { memfd, seals });
    }
    else Object.assign(entry, { pipe: first.pipe, end: first.end }, first.fifo ? { fifo: first.fifo } : {});
    for (const h of held) {
      h.fd.kind = 'shared';
      h.fd.shared = shared.length;
    }
    if (mapped && !entryOfFile.has(first.file!)) entryOfFile.set(first.file!, shared.length);
    shared.push(entry);
  }
  // a deleted file mapped: the entry of a description that holds it, or one of
  // its own (no fd holds it: the dumper saved its contents with its first mapping)
  for (const [file, mapped] of mappings) {
    let index = entryOfFile.get(file);
    if (index === undefined) {
      const saved = mapped.find((m) => m.vma.fileContent);
      if (!saved) throw new Error(`the image maps deleted file ${mapped[0].vma.path} (${file}) without its contents`);
      const { content, extents, size, mode, uid, gid, memfd, seals } = saved.vma.fileContent!;
      index = shared.length;
      shared.push({
        kind: 'deleted', flags: 2 /* O_RDWR */, pos: 0, path: saved.vma.path, holders: [],
        content: { file: saved.proc.pagesFile, ...content }, extents, size,
        ...(mode !== undefined ? { mode, uid, gid } : {}), ...(memfd ? { memfd, seals } : {}),
      });
    }
    for (const m of mapped) {
      m.vma.shared = index;
      delete m.vma.fileContent;
    }
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
