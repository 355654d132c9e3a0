// Types of convergence.js, for js/tests/convergence.test.ts.
import type { OpenOptions, Store } from 'mycelium-sync';
import type { todoSchema } from './fixtures.js';

export declare const IDS: readonly string[];
export type ScheduleStats = { pending: number; covered: number; applied: number };
export declare function schedule(
  open: (options: OpenOptions<typeof todoSchema>) => Promise<Store<typeof todoSchema>>,
  seed: number,
): Promise<{ stores: Store<typeof todoSchema>[]; stats: ScheduleStats }>;
