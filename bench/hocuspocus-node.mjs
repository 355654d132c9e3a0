// One Hocuspocus node for the comparison in `npm run bench:relay`: the
// Hocuspocus server with its Redis extension (how Hocuspocus scales across
// nodes: updates and awareness go through Redis pub/sub). Prints its URL.
import { Redis } from '@hocuspocus/extension-redis';
import { Server } from '@hocuspocus/server';

const { redisPort } = JSON.parse(process.argv[2]);
const server = new Server({ address: '127.0.0.1', port: 0, quiet: true, stopOnSignals: false, extensions: [new Redis({ host: '127.0.0.1', port: redisPort })] });
await server.listen(0);
console.log(`hocuspocus on ws://127.0.0.1:${server.address.port}`);
const stop = () => void server.destroy().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
