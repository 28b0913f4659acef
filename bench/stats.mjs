// Shared by the bench's sections (bench/run.mjs, bench/checkpoint.mjs).

/** The median of the finite numbers of xs; null when there are none. */
export function median(xs) {
  const s = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
