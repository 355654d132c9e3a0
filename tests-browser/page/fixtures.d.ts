// Types of fixtures.js, for the TypeScript tests (js/tests import it too).
export declare const todoSchema: {
  readonly todos: { readonly title: 'lww'; readonly done: 'lww'; readonly votes: 'counter'; readonly tags: 'set'; readonly owner: 'mvr' };
  readonly notes: { readonly body: 'lww' };
};
export declare function clock(start?: number): () => number;
export declare function actor(n: number): string;
export declare function rng(seed: number): () => number;
export declare function toBase64(bytes: Uint8Array): string;
export declare function fromBase64(text: string): Uint8Array;
