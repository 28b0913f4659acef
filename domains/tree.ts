// The shape of a process tree and how to make it again: in which order the
// restorer forks the processes, which of them start a session (setsid) and which
// process group each joins. Pure logic (no kernel): checkpoint uses it to refuse a
// tree it could not rebuild, restore to build the keeper's vd_tree (plan.h).
//
// Forking re-creates parent → child links; a session or a process group cannot be
// joined later from outside, so:
//   - a process leads its own session (vsid = its vpid) or keeps its parent's;
//   - it then keeps its parent's group, leads its own (vpgid = its vpid), or joins
//     the group of a process made before it in the same session.
// The root stays in the restoring command's session and group, unless it led a
// group of its own.
// Children are made in PID order, each with its whole subtree before the next
// sibling (the order the job most likely made them in), so a group's leader (the
// lowest PID of its group, as a rule) exists before the members that join it.
// Orphans (their parent gone, reparented to vdomain's keeper, the domain's
// subreaper) come after the root's subtree: the root makes them as its siblings
// (CLONE_PARENT), so for their session and group they start as the root's.
// An orphan in a session whose leader is gone (a daemon that forked twice: the
// middle process made the session and exited) is made by a helper: a process
// with the old leader's PID that starts the session (and, when the orphan's group
// has lost its leader too, one more for the group), makes the orphan as the
// keeper's child (CLONE_PARENT) and exits once the tree runs, as CRIU's helper
// tasks do. A helper is not in the image: it stands for an id the image uses.

export interface TreeNode {
  vpid: number;
  vppid: number;
  vpgid: number;
  vsid: number;
}

export const ORPHAN = -2;
export const HELPER = -1;

export interface TreeStep {
  /** index into the input; HELPER for a helper */
  from: number;
  /** a helper's PID: the session or group it stands for */
  helper?: number;
  /** index in creation order of the parent; -1 for the root; ORPHAN: a child of the keeper, made by the root */
  parent: number;
  /** join the group of that (earlier) process; -1: keep the parent's */
  groupOf: number;
  setsid: boolean;
}

export type TreePlan = { ok: true; steps: TreeStep[] } | { ok: false; problems: string[] };

/**
 * rootVpid: the domain's root; other processes whose parent is not in the job are
 * orphans. otherIds: the job's other ids (its threads'), which no helper may take.
 */
export function planTree(input: readonly TreeNode[], rootVpid: number, otherIds: Iterable<number> = []): TreePlan {
  const problems: string[] = [];
  const inputByVpid = new Map(input.map((n, i) => [n.vpid, i]));
  const root = inputByVpid.get(rootVpid);
  if (root === undefined) return { ok: false, problems: [`the job's root (pid ${rootVpid}) is not among its processes`] };
  const nodes = withHelpers(input, root, new Set(otherIds));
  const byVpid = new Map(nodes.map((n, i) => [n.vpid, i]));
  const children = new Map<number, number[]>();
  const orphans: number[] = [];
  nodes.forEach((n, i) => {
    if (i === root) return;
    const p = byVpid.get(n.vppid);
    if (p === undefined) orphans.push(i);
    else children.set(p, [...(children.get(p) ?? []), i]);
  });
  for (const list of [...children.values(), orphans]) list.sort((a, b) => nodes[a].vpid - nodes[b].vpid);

  const order: number[] = [];
  const visit = (i: number) => {
    order.push(i);
    for (const c of children.get(i) ?? []) visit(c);
  };
  visit(root);
  for (const o of orphans) visit(o);
  if (order.length !== nodes.length) problems.push('the job\'s parent links form a cycle');

  const position = new Map(order.map((from, at) => [from, at]));
  const steps: TreeStep[] = [];
  for (const [at, from] of order.entries()) {
    const n = nodes[from];
    const orphan = at > 0 && !byVpid.has(n.vppid);
    const parentAt = at === 0 ? -1 : orphan ? ORPHAN : position.get(byVpid.get(n.vppid)!)!;
    // an orphan starts in the root's session and group (the root makes it)
    const parent = at === 0 ? undefined : orphan ? nodes[order[0]] : nodes[order[parentAt]];
    const step: TreeStep = from < input.length ? { from, parent: parentAt, groupOf: -1, setsid: false }
      : { from: HELPER, helper: n.vpid, parent: parentAt, groupOf: -1, setsid: false };
    steps.push(step);
    if (!parent) {
      // the root starts in the restoring command's session and group; it leads
      // its own group again if it did (an interactive shell, a job-control job)
      if (n.vpgid === n.vpid && n.vsid !== n.vpid) step.groupOf = 0;
      continue;
    }
    const where = `pid ${n.vpid}`;
    if (n.vsid === n.vpid) step.setsid = true;
    else if (n.vsid !== parent.vsid) {
      problems.push(`${where}: in session ${n.vsid}, which is neither its own nor its parent's — not supported yet`);
      continue;
    }
    const sessionOfGroup = step.setsid ? n.vpid : parent.vsid;
    if (n.vpgid === (step.setsid ? n.vpid : parent.vpgid)) continue;  // what setsid or fork gives it
    if (n.vpgid === n.vpid) {
      step.groupOf = at;
      continue;
    }
    // the first process made before it in that group (and in its session)
    const earlier = order.slice(0, at).findIndex((k) => nodes[k].vpgid === n.vpgid && nodes[k].vsid === sessionOfGroup);
    if (earlier < 0) {
      problems.push(`${where}: in process group ${n.vpgid}, whose processes are all made after it or gone — not supported yet`);
      continue;
    }
    step.groupOf = earlier;
  }
  return problems.length ? { ok: false, problems } : { ok: true, steps };
}

/**
 * The input with the helpers its orphans need (see the top), and those orphans
 * made children of their helper. A session's helper leads it and its group; a
 * group's helper is a child of its session's helper and leads the group.
 */
function withHelpers(input: readonly TreeNode[], root: number, otherIds: Set<number>): TreeNode[] {
  const ids = new Set([...input.map((n) => n.vpid), ...otherIds]);
  const rootSession = input[root].vsid;
  const made = new Map<number, TreeNode>();  // helper vpid → node
  const helper = (vpid: number, vppid: number, vsid: number) => {
    if (!made.has(vpid)) made.set(vpid, { vpid, vppid, vpgid: vpid, vsid });
    return vpid;
  };
  const vpids = new Set(input.map((n) => n.vpid));
  // a session or group id that is no process's (nor thread's) now: its leader is gone
  const gone = (id: number) => id > 0 && !ids.has(id);
  const nodes = input.map((n, i) => {
    const orphan = i !== root && !vpids.has(n.vppid);
    if (!orphan || n.vsid === n.vpid || n.vsid === rootSession || !gone(n.vsid)) return n;
    const session = helper(n.vsid, 0, n.vsid);
    const groupGone = n.vpgid !== n.vsid && n.vpgid !== n.vpid && gone(n.vpgid) &&
      !input.some((m) => m !== n && m.vpgid === n.vpgid && m.vsid === n.vsid && m.vpid < n.vpid);
    return { ...n, vppid: groupGone ? helper(n.vpgid, session, n.vsid) : session };
  });
  return [...nodes, ...made.values()];
}
