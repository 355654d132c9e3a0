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

/** Core NATS publish and subscribe (not persisted): what relay nodes tell each other directly. */
export interface PubSub {
  publish(subject: string, data: Uint8Array): void;
  /** Calls `listener` with each message on `subject`; returns the unsubscribe. */
  subscribe(subject: string, listener: (data: Uint8Array) => void): () => void;
  /** Calls `listener` each time the connection is back after a break (what was published meanwhile is lost). */
  onReconnect(listener: () => void): () => void;
}

/** A PubSub on a NATS connection (subscriptions end with the connection). */
export function pubSub(nc: import('@nats-io/transport-node').NatsConnection): PubSub {
  const reconnected = new Set<() => void>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type !== 'reconnect') continue;
      for (const l of [...reconnected]) l();
    }
  })().catch(() => undefined);
  return {
    publish(subject, data) {
      // A closed or draining connection throws: what it would have said is not persisted anyway.
      if (!nc.isClosed() && !nc.isDraining()) nc.publish(subject, data);
    },
    subscribe(subject, listener) {
      const sub = nc.subscribe(subject, { callback: (err, msg) => void (err ? undefined : listener(msg.data)) });
      return () => sub.unsubscribe();
    },
    onReconnect(listener) {
      reconnected.add(listener);
      return () => reconnected.delete(listener);
    },
  };
}
