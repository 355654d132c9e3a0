// Loads one test file (?file=name.test.js) and exposes window.__myc for the
// host: ready (the list of tests), run(name) -> { status, ms, error?, missing? }.
import { missing, registry } from './harness.js';

const file = new URLSearchParams(location.search).get('file');

async function run(name) {
  const t = registry.find((x) => x.name === name);
  if (!t) return { status: 'failed', ms: 0, error: `no test named ${name}` };
  const lacks = missing(t.needs);
  if (lacks.length > 0) return { status: 'unavailable', ms: 0, missing: lacks };
  const start = performance.now();
  try {
    await t.fn();
    return { status: 'passed', ms: performance.now() - start };
  } catch (e) {
    // JavaScriptCore's stack does not repeat the message.
    const stack = (e && e.stack) || '';
    const text = stack.includes(String(e && e.message)) ? stack : `${String(e)}\n${stack}`;
    return { status: 'failed', ms: performance.now() - start, error: text };
  }
}

window.__myc = {
  ready: file ? import(`../tests/${file}`).then(() => registry.map((t) => ({ name: t.name, needs: t.needs }))) : Promise.resolve([]),
  run,
  missing,
};
