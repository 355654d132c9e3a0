// Node entry point: the same API, loading the .wasm files from disk.
import { join } from 'node:path';
import { setDefaultStorage } from './api.js';
import { setPlatform } from './loader.js';
import { nodePlatform } from './platform-node.js';
import { fileStorage } from './storage-fs.js';

setPlatform(nodePlatform);
setDefaultStorage(() => fileStorage(join(process.cwd(), '.mycelium')));

export * from './public.js';
export { fileStorage } from './storage-fs.js';
