// Browser and worker entry point.
import { setDefaultStorage } from './api.js';
import { setPlatform } from './loader.js';
import { browserPlatform } from './platform-browser.js';
import { indexedDBStorage } from './storage-idb.js';

setPlatform(browserPlatform);
setDefaultStorage(() => indexedDBStorage());

export * from './public.js';
