// Bad bytes from outside, in Node: the cases the page-level suite runs too
// (tests-browser/page/malformed.js): every one is refused with a
// MyceliumError and a code, and the store stays byte-identical.
import { describe, it } from 'vitest';
import { malformedCases } from '../../tests-browser/page/malformed.js';
import { mycelium } from './helpers.js';

describe('malformed input', () => {
  for (const [name, run] of malformedCases) it(name, () => run(mycelium));
});
