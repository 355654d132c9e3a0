// Bad bytes from outside the page's engine: the cases the Node suite runs too
// (page/malformed.js), on the browser build.
import * as M from '/dist/index.js';
import { test } from '../page/harness.js';
import { malformedCases } from '../page/malformed.js';

for (const [name, run] of malformedCases) test(name, () => run(M));
