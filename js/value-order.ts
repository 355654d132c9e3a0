// The order of values in queries and indexes (docs/queries.md, Semantics):
// by kind (null < boolean < number < string < bytes), then within it. The
// engine sorts an index's first build by the same rules (cpp/value.h,
// query_order).
import type { Value } from './bytes.js';
import { compareIds } from './ids.js';

/** Kind ranks of values, for ordering across kinds: null < boolean < number < string < bytes. */
export function rank(v: Value): number {
  if (v === null) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    default:
      return 4;
  }
}

/** The total order of values: by kind, then within it. */
export function compareValues(a: Value, b: Value): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return Number(a) - Number(b);
    case 2: {
      // By value, exactly (an int64 read as bigint against a number too);
      // -0 equals 0, NaN comes after every other number (cpp/value.h, query_order).
      const x = a as number | bigint;
      const y = b as number | bigint;
      if (x < y) return -1;
      if (x > y) return 1;
      const xNaN = x !== x;
      const yNaN = y !== y;
      return xNaN === yNaN ? 0 : xNaN ? 1 : -1;
    }
    case 3:
      return compareIds(a as string, b as string); // code point order, as ids
    default: {
      const x = a as Uint8Array;
      const y = b as Uint8Array;
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    }
  }
}
