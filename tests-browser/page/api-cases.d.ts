// Types of api-cases.js, for js/tests/api.test.ts.
import type * as M from 'mycelium-sync';

export declare const apiCases: readonly (readonly [string, (module: typeof M) => Promise<void>])[];
