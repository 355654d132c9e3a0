// Browser and worker entry point.
import { setPlatform } from './loader.js';
import { browserPlatform } from './platform-browser.js';

setPlatform(browserPlatform);

export * from './public.js';
