// Device certificates (docs/identity.md, Identities and keys): a user key
// signs that a device key acts for it until an expiry. A certificate names no
// store; a device's replica puts it in each store's membership log as a
// device operation (membership.ts), where every member checks it.
import { MyceliumError } from '../errors.js';
import type { Identity } from './keys.js';
import { decodeToken, encodeToken, fromBase64Url, isPrincipal, signingInput, toBase64Url, verify } from './keys.js';

const PREFIX = 'myc-device-1.';
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** A device certificate, read from its token. */
export interface DeviceCertificate {
  readonly user: string;
  readonly device: string;
  /** ms since 1970. */
  readonly expires: number;
  /** The user's Ed25519 signature over certificateInput(). */
  readonly signature: Uint8Array;
}

/** What the user signs. */
export function certificateInput(user: string, device: string, expires: number): Uint8Array {
  return signingInput('myc-device-1', user, device, String(expires));
}

/** Does the user's signature over (user, device, expires) verify? */
export function checkCertificate(c: DeviceCertificate): Promise<boolean> {
  return verify(c.user, certificateInput(c.user, c.device, c.expires), c.signature);
}

/**
 * Signs a certificate by which `device` (a principal) acts for `user` in every
 * protected store that names the user, until `expires` (ms since 1970;
 * default in a year). The device opens stores with
 * open({ identity, access: { owner, certificate } }).
 */
export async function certifyDevice(user: Identity, device: string, options: { readonly expires?: number } = {}): Promise<string> {
  if (typeof user !== 'object' || user === null || !isPrincipal(user.principal) || typeof user.sign !== 'function') {
    throw new MyceliumError('invalid_argument', 'certifyDevice(user, device): the user is an identity from createIdentity() or loadIdentity()');
  }
  if (!isPrincipal(device)) throw new MyceliumError('invalid_argument', `a device is a principal (43 base64url characters), not ${JSON.stringify(device)}`);
  if (device === user.principal) throw new MyceliumError('invalid_argument', 'a user key does not certify itself');
  const expires = options.expires ?? Date.now() + YEAR_MS;
  if (!Number.isSafeInteger(expires) || expires <= Date.now()) throw new MyceliumError('invalid_argument', 'expires is a time in the future, in ms since 1970');
  const s = await user.sign(certificateInput(user.principal, device, expires));
  return encodeToken(PREFIX, { v: 1, u: user.principal, d: device, e: expires, s: toBase64Url(s) });
}

/** Reads and checks a certificate token: `corrupt` when it is not one, `forbidden` when its signature does not verify. */
export async function readCertificate(token: unknown): Promise<DeviceCertificate> {
  const b = decodeToken(token, PREFIX, 1024, 'a device certificate', 'certifyDevice()');
  const signature = typeof b.s === 'string' ? fromBase64Url(b.s) : null;
  if (!isPrincipal(b.u) || !isPrincipal(b.d) || !Number.isSafeInteger(b.e) || (b.e as number) <= 0 || !signature || signature.length !== 64) throw new MyceliumError('corrupt', 'not a device certificate of mycelium-sync: a field is missing or malformed');
  const c: DeviceCertificate = { user: b.u, device: b.d, expires: b.e as number, signature };
  if (!(await checkCertificate(c))) throw new MyceliumError('forbidden', `the device certificate's signature by ${c.user} does not verify`);
  return c;
}
