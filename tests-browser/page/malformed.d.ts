// Types of malformed.js, for js/tests/malformed.test.ts.
import type { OpenOptions, Store } from 'mycelium-sync';
import type { todoSchema } from './fixtures.js';

type TodoStore = Store<typeof todoSchema>;
export declare const CODES: readonly string[];
export declare function fixture(
  open: (options: OpenOptions<typeof todoSchema>) => Promise<TodoStore>,
): Promise<{ compressed: Uint8Array; plain: Uint8Array; target: TodoStore }>;
export declare function refuse(target: TodoStore, bytes: Uint8Array): { error: unknown; unchanged: boolean };
