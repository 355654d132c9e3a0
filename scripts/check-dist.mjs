// The last step of the build: the bundle and the .wasm files in dist/ belong
// together (the glue's import names match the module's) and a store opens.
import { open } from '../dist/node.js';

try {
  const store = await open({ schema: { t: { f: 'lww' } } });
  store.collection('t').insert({ f: 'x'.repeat(2000) });
  if ((store.save()[4] & 1) !== 1) throw new Error('the compressor did not compress a 2 KB snapshot');
  store.close();
  console.log('dist/ checked: the module instantiates and a store opens');
} catch (e) {
  console.error(`dist/ is broken: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
