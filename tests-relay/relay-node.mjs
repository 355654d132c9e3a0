// One relay node for the relay suite: startRelay() from the built package,
// with the test switches the test asks for (they live in this process's
// globals, so the suite cannot set them from outside otherwise).
import { startRelay } from 'mycelium-sync';

const options = JSON.parse(process.argv[2]);
if (options.switches) globalThis.__myceliumTestSwitches = options.switches;
const relay = await startRelay({ ...options, log: (line) => console.error(line) });
console.log(`relay on ${relay.url}`);
const stop = () => void relay.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
