// Browser and worker entry point.
import { setDefaultStorage } from './api.js';
import { setKeyStore } from './access/identity-store.js';
import { setPlatform } from './loader.js';
import { browserPlatform } from './platform-browser.js';
import { indexedDBStorage } from './storage-idb.js';

setPlatform(browserPlatform);
setDefaultStorage(() => indexedDBStorage());
setKeyStore((name) => import('./access/keystore-idb.js').then((m) => m.idbKeyStore(name)));

export * from './public.js';
