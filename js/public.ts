// The public surface, shared by the browser and Node entry points.
export { open, load, loadInfo } from './api.js';
export type { OpenOptions } from './api.js';
export { preload, wasmMemoryBytes } from './loader.js';
export type { LoadInfo, LoadOptions } from './loader.js';
export { Store } from './store.js';
export type { ApplyResult, RecoveryIssue } from './store.js';
export { memoryStorage } from './storage.js';
export type { StorageAdapter, Stored, StoredMeta } from './storage.js';
export { indexedDBStorage } from './storage-idb.js';
export type { Migration } from './persistence.js';
export { Collection } from './collection.js';
export type { RecordWriter } from './collection.js';
export type { Change } from './changes.js';
export { MyceliumError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Value } from './bytes.js';
export type { Kind, Fields, Schema, RecordOf, InsertOf, FieldValue } from './schema.js';
export type { Version } from './version.js';
