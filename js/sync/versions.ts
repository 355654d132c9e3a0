// Version-vector arithmetic for the sync layer.
import type { Version } from '../version.js';

/** a covers b: every entry of b is <= a's. */
export function covers(a: Version, b: Version): boolean {
  for (const actor in b) if ((a[actor] ?? 0) < b[actor]!) return false;
  return true;
}

/** The entry-wise maximum. */
export function join(a: Version, b: Version): Version {
  let out: Record<string, number> | null = null;
  for (const actor in b) {
    if ((a[actor] ?? 0) < b[actor]!) {
      out ??= { ...a };
      out[actor] = b[actor]!;
    }
  }
  return out ?? a;
}

/** The entries of `v` that are greater than in `base`. */
export function newer(v: Version, base: Version): Version {
  const out: Record<string, number> = {};
  for (const actor in v) if ((base[actor] ?? 0) < v[actor]!) out[actor] = v[actor]!;
  return out;
}

export function isEmpty(v: Version): boolean {
  for (const _ in v) return false;
  return true;
}

/** `v` without one actor's entry. */
export function without(v: Version, actor: string): Version {
  if (!(actor in v)) return v;
  const out: Record<string, number> = { ...v };
  delete out[actor];
  return out;
}

/** How many actors `v` names. */
export function size(v: Version): number {
  let n = 0;
  for (const _ in v) n++;
  return n;
}
