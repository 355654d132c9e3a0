// The public API in the page: the cases the Node suite runs too
// (page/api-cases.js), on the browser build.
import * as M from '/dist/index.js';
import { apiCases } from '../page/api-cases.js';
import { test } from '../page/harness.js';

for (const [name, run] of apiCases) test(name, () => run(M));
