// Unit tests of domains/tree.ts: the order and the session/group steps the
// restorer uses to make a process tree again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HELPER, ORPHAN, planTree, TreeNode } from '../../domains/tree';

const node = (vpid: number, vppid: number, vpgid: number, vsid: number): TreeNode => ({ vpid, vppid, vpgid, vsid });

function steps(nodes: TreeNode[], root = nodes.find((n) => !nodes.some((m) => m.vpid === n.vppid))!.vpid) {
  const r = planTree(nodes, root);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.steps.map((s) => ({ vpid: s.from === HELPER ? s.helper! : nodes[s.from].vpid, parent: s.parent, groupOf: s.groupOf, setsid: s.setsid, ...(s.from === HELPER ? { helper: true } : {}) }));
}

test('one process: the root, nothing to set', () => {
  assert.equal(steps([node(10, 1, 5, 5)]), [{ vpid: 10, parent: -1, groupOf: -1, setsid: false }]);
});

test('a root that led its own group (an interactive shell) leads it again', () => {
  assert.equal(steps([node(10, 1, 10, 5)]), [{ vpid: 10, parent: -1, groupOf: 0, setsid: false }]);
});

test('children in PID order, each with its subtree first; input order does not matter', () => {
  const nodes = [node(13, 10, 5, 5), node(12, 11, 5, 5), node(10, 1, 5, 5), node(11, 10, 5, 5)];
  assert.equal(
    steps(nodes).map((s) => [s.vpid, s.parent]),
    [[10, -1], [11, 0], [12, 1], [13, 0]],
  );
});

test('a shell pipeline: the first stage leads the group, the next ones join it', () => {
  // bash 10 (session 5) runs `a | b`: a = 11 leads group 11, b = 12 joins it
  const s = steps([node(10, 1, 10, 5), node(11, 10, 11, 5), node(12, 10, 11, 5)]);
  assert.equal(s[1], { vpid: 11, parent: 0, groupOf: 1, setsid: false });
  assert.equal(s[2], { vpid: 12, parent: 0, groupOf: 1, setsid: false });
});

test('a daemon child: setsid, and its own children inherit its session and group', () => {
  const s = steps([node(10, 1, 5, 5), node(11, 10, 11, 11), node(12, 11, 11, 11)]);
  assert.equal(s[1], { vpid: 11, parent: 0, groupOf: -1, setsid: true });
  assert.equal(s[2], { vpid: 12, parent: 1, groupOf: -1, setsid: false });
});

test('a grandchild back in the root\'s group joins it through the root', () => {
  const s = steps([node(10, 1, 5, 5), node(11, 10, 11, 5), node(12, 11, 5, 5)]);
  assert.equal(s[2], { vpid: 12, parent: 1, groupOf: 0, setsid: false });
});

test('refused: a session that is neither its own nor its parent\'s', () => {
  const r = planTree([node(10, 1, 5, 5), node(11, 10, 11, 11), node(12, 10, 11, 11)], 10);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.problems.join(), /pid 12: in session 11/);
});

test('refused: a group whose leader is gone and no member comes before', () => {
  const r = planTree([node(10, 1, 5, 5), node(11, 10, 99, 5)], 10);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.problems.join(), /pid 11: in process group 99/);
});

test('orphans (reparented to the keeper) come after the root\'s subtree, made by the root as its siblings', () => {
  // keeper 1; root 10 with child 11; 12 daemonized (its parent 13 gone): own session; 14 its child
  const s = planTree([node(12, 1, 12, 12), node(10, 1, 5, 5), node(11, 10, 5, 5), node(14, 12, 12, 12)], 10);
  assert.ok(s.ok);
  if (s.ok) {
    assert.equal(s.steps.map((x) => x.parent), [-1, 0, ORPHAN, 2]);
    assert.equal(s.steps[2].setsid, true);
  }
  const r = planTree([node(10, 1, 5, 5), node(20, 1, 5, 5)], 99);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.problems.join(), /root \(pid 99\) is not among/);
});

test('a daemon that forked twice, its session leader gone: a helper with the leader\'s PID starts the session and makes it', () => {
  // root 10 has exited (a zombie root); 12 made session 12 and exited; daemon 13 (the keeper's) is in it
  assert.equal(steps([node(13, 1, 12, 12), node(10, 0, 5, 5)], 10), [
    { vpid: 10, parent: -1, groupOf: -1, setsid: false },
    { vpid: 12, parent: ORPHAN, groupOf: -1, setsid: true, helper: true },
    { vpid: 13, parent: 1, groupOf: -1, setsid: false },
  ]);
  // one helper for the session, whoever is in it; an orphan left in the root's session needs none
  const s = steps([node(13, 1, 12, 12), node(14, 1, 14, 12), node(15, 1, 5, 5), node(10, 0, 5, 5)], 10);
  assert.equal(s.map((x) => [x.vpid, x.parent]), [[10, -1], [12, ORPHAN], [13, 1], [14, 1], [15, ORPHAN]]);
  assert.equal(s[3].groupOf, 3);  // 14 leads its own group
});

test('an orphan whose session and group leaders are both gone: a helper for each, the group\'s inside the session\'s', () => {
  const s = steps([node(10, 1, 5, 5), node(20, 1, 15, 12), node(21, 1, 15, 12)], 10);
  assert.equal(s.map((x) => [x.vpid, x.parent, x.groupOf, x.setsid]), [
    [10, -1, -1, false], [12, ORPHAN, -1, true], [15, 1, 2, false], [20, 2, -1, false], [21, 1, 2, false],
  ]);
});

test('no helper takes an id a thread of the job has: refused instead', () => {
  const r = planTree([node(10, 1, 5, 5), node(13, 1, 12, 12)], 10, [12]);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.problems.join(), /pid 13: in session 12/);
});

test.run();
