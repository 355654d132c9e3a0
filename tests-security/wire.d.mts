// Types of wire.mjs, for the TypeScript tests (js/tests).
export type ActorRef = string | number | bigint;
export declare function varint(n: number): number[];
export declare function crc32c(bytes: Uint8Array): number;
export declare function mycFrame(kind: number, payload: Uint8Array, compressed?: boolean, version?: number): Uint8Array;
export declare function str(s: string | Uint8Array): number[];
export declare function versionBytes(entries: readonly (readonly [ActorRef, number])[], chain?: number): number[];
export declare const PROTOCOL: number;
export declare function schemaBytes(schema: { readonly [collection: string]: { readonly [field: string]: string } }): number[];
export declare function helloMessage(store: string, schema: { readonly [collection: string]: { readonly [field: string]: string } }, entries?: readonly (readonly [ActorRef, number])[], reply?: boolean): Uint8Array;
export declare function hello(store: string, schema: { readonly [collection: string]: { readonly [field: string]: string } }, entries?: readonly (readonly [ActorRef, number])[], reply?: boolean): Uint8Array;
export declare function deltaMessage(store: string, entries: readonly (readonly [ActorRef, number])[], delta: Uint8Array, chain?: number): Uint8Array;
export declare function ackMessage(store: string, entries: readonly (readonly [ActorRef, number])[]): Uint8Array;
export declare function chunks(message: Uint8Array, id: number, size?: number): Uint8Array[];
export declare const FEATURES_STORE: string;
export declare function featuresMessage(features: readonly string[]): Uint8Array;
export declare function presenceMessage(store: string, entries: readonly (readonly [string, number, string | null])[]): Uint8Array;
