// One relay node for the relay suite: startRelay() from the built package,
// with the test switches the test asks for (they live in this process's
// globals, so the suite cannot set them from outside otherwise).
// `access: { owner, keyDir, keyName, encrypt }` serves protected stores as
// the identity kept in that key file (every node of a test shares it).
import { fileKeyStore, startRelay } from 'mycelium-sync';

const options = JSON.parse(process.argv[2]);
if (options.switches) globalThis.__myceliumTestSwitches = options.switches;
const access = options.access ? { owner: options.access.owner, encrypt: options.access.encrypt, identity: await fileKeyStore(options.access.keyDir)(options.access.keyName) } : undefined;
const relay = await startRelay({ ...options, access, log: (line) => console.error(line) });
console.log(`relay on ${relay.url}`);
const stop = () => void relay.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
