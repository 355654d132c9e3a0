// Node entry point: the same API, loading the .wasm files from disk.
import { setPlatform } from './loader.js';
import { nodePlatform } from './platform-node.js';

setPlatform(nodePlatform);

export * from './public.js';
