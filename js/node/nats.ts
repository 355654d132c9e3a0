// The NATS client, loaded when a relay starts: `@nats-io/*` are optional
// peer dependencies (only relay nodes need them), so the package loads
// without them and says what to install when they are missing.
import { MyceliumError } from '../errors.js';

export type NatsCore = typeof import('@nats-io/transport-node');
export type NatsJetStream = typeof import('@nats-io/jetstream');
export type NatsKv = typeof import('@nats-io/kv');
export type NatsObj = typeof import('@nats-io/obj');

export interface NatsModules {
  readonly core: NatsCore;
  readonly js: NatsJetStream;
  readonly kv: NatsKv;
  readonly obj: NatsObj;
}

export const NATS_PACKAGES = ['@nats-io/transport-node', '@nats-io/jetstream', '@nats-io/kv', '@nats-io/obj'] as const;

let loaded: Promise<NatsModules> | null = null;

/** The four NATS client modules, or MyceliumError('transport_unavailable') naming the command that installs them. */
export function loadNats(): Promise<NatsModules> {
  loaded ??= (async () => {
    try {
      const [core, js, kv, obj] = await Promise.all([
        import('@nats-io/transport-node'),
        import('@nats-io/jetstream'),
        import('@nats-io/kv'),
        import('@nats-io/obj'),
      ]);
      return { core, js, kv, obj };
    } catch (e) {
      loaded = null;
      throw new MyceliumError(
        'transport_unavailable',
        `relays need the NATS client: npm install ${NATS_PACKAGES.join(' ')} (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  })();
  return loaded;
}
