import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Keys we issue look like `sy_<keyId>_<secret>`: a public id of 12 alphanumerics (url-safe, and no
 * `_` so the parts read apart) and 32 random bytes in base64url (43 characters).
 */
export const API_KEY_PREFIX = 'sy_';
export const KEY_ID_LENGTH = 12;
const SECRET_BYTES = 32;
const ISSUED_KEY = /^sy_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** Nothing longer is ever looked at: issued keys have 59 characters, bootstrap keys at most this. */
export const MAX_PRESENTED_KEY_LENGTH = 256;
export const MIN_BOOTSTRAP_KEY_LENGTH = 24;
const BOOTSTRAP_KEY = /^[\x21-\x7e]{24,256}$/;

export interface ParsedApiKey {
  keyId: string;
  secret: string;
}

/** The parts of a key in the issued format, or null. */
export function parseApiKey(presented: string): ParsedApiKey | null {
  if (presented.length > MAX_PRESENTED_KEY_LENGTH) return null;
  const match = ISSUED_KEY.exec(presented);
  return match?.[1] !== undefined && match[2] !== undefined ? { keyId: match[1], secret: match[2] } : null;
}

/** An operator-chosen bootstrap key: 24 to 256 printable ASCII characters, no spaces (headers trim them). */
export const isAcceptableBootstrapKey = (key: string): boolean => BOOTSTRAP_KEY.test(key);

/**
 * How a presented key is found and checked: an issued key by its own id and secret; any other
 * string a bootstrap key could be by an id derived from the whole string, which is then the
 * secret. Used both to store a bootstrap key and to authenticate, so the two always agree.
 */
export function keyLookupOf(presented: string): ParsedApiKey | null {
  if (presented.length > MAX_PRESENTED_KEY_LENGTH) return null;
  const issued = parseApiKey(presented);
  if (issued) return issued;
  return isAcceptableBootstrapKey(presented) ? { keyId: derivedKeyId(presented), secret: presented } : null;
}

/** Domain-separated, so a public key id is never a prefix of the stored hash. */
export const derivedKeyId = (key: string): string =>
  createHash('sha256').update('switchyard:key-id:').update(key).digest('hex').slice(0, KEY_ID_LENGTH);

const ALPHANUMERICS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform over the 62 alphanumerics (bytes >= 248 are dropped so the modulo has no bias). */
export function randomAlphanumerics(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHANUMERICS[byte % 62];
    }
  }
  return out;
}

export interface IssuedApiKey extends ParsedApiKey {
  key: string;
}

export function generateApiKey(): IssuedApiKey {
  const keyId = randomAlphanumerics(KEY_ID_LENGTH);
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { keyId, secret, key: `${API_KEY_PREFIX}${keyId}_${secret}` };
}

// A 256-bit random secret cannot be brute-forced, so one SHA-256 is enough; a slow KDF would only slow every request.
export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** The hash of a secret nobody knows: what an unknown key id is compared against. */
export const DUMMY_SECRET_HASH: Buffer = hashSecret(randomBytes(SECRET_BYTES).toString('base64url'));

/** Constant time in the content of both; a stored hash of the wrong length costs the same and fails. */
export function secretMatches(hash: Uint8Array, secret: string): boolean {
  const presented = hashSecret(secret);
  if (hash.length !== presented.length) {
    timingSafeEqual(presented, DUMMY_SECRET_HASH);
    return false;
  }
  return timingSafeEqual(presented, hash);
}

/**
 * Checks a secret against the stored hash of the key found, or, when no key was found, against
 * the dummy hash anyway: the same hash and compare either way, so the time taken does not reveal
 * which key ids exist.
 */
export function verifySecret(
  storedHash: Uint8Array | undefined,
  secret: string,
  matches: (hash: Uint8Array, secret: string) => boolean = secretMatches,
): boolean {
  const matched = matches(storedHash ?? DUMMY_SECRET_HASH, secret);
  return storedHash !== undefined && matched;
}
