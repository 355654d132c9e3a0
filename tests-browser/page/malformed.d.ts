// Types of malformed.js, for js/tests/malformed.test.ts.
import type * as M from 'mycelium-sync';

export declare const CODES: readonly string[];
export declare const malformedCases: readonly (readonly [string, (module: typeof M) => Promise<void>])[];
