import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DomainError } from '@switchyard/contracts';
import { z } from 'zod';

const MIN_SECRET_LENGTH = 32;
const EXPIRES = /^\d{1,15}$/;
// base64url without padding of a 32-byte HMAC-SHA256.
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

const invalid = (): DomainError => new DomainError('SIGNATURE_INVALID', 'the link signature is not valid');

/**
 * Links that carry their own permission (`preview_url` and the like): `path?expires=<unix s>&signature=<HMAC>`.
 * The signature covers the path and the expiry, so neither can be changed without the secret.
 */
export class SignedUrls {
  private readonly secret: Buffer;

  constructor(secret: string | Buffer) {
    this.secret = Buffer.isBuffer(secret) ? Buffer.from(secret) : Buffer.from(secret, 'utf8');
    if (this.secret.length < MIN_SECRET_LENGTH) throw new Error(`a URL signing secret needs at least ${MIN_SECRET_LENGTH} bytes`);
  }

  /** `path` is the URL path the link will be requested with, without a query. */
  sign(path: string, expiresAt: Date): string {
    if (/[?#]/.test(path)) throw new Error('sign a path without a query or fragment');
    const time = expiresAt.getTime();
    if (!Number.isFinite(time)) throw new Error('expiresAt is not a valid date');
    // Rounded down: a link never outlives the moment asked for.
    const expires = String(Math.floor(time / 1000));
    return `${path}?expires=${expires}&signature=${this.signature(path, expires)}`;
  }

  /** Throws SIGNATURE_INVALID unless `path` and `expires` are exactly as signed, then LINK_EXPIRED once `now` reaches `expires`. */
  verify(path: string, query: { expires?: unknown; signature?: unknown }, now: Date = new Date()): void {
    const { expires, signature } = query;
    if (typeof expires !== 'string' || typeof signature !== 'string' || !EXPIRES.test(expires) || !SIGNATURE.test(signature)) {
      throw invalid();
    }
    // The text is compared, not its decoded bytes: the last base64url character carries 4 unused bits,
    // so differently written signatures can decode alike and would otherwise both pass.
    const expected = Buffer.from(this.signature(path, expires), 'ascii');
    const given = Buffer.from(signature, 'ascii');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    if (now.getTime() >= Number(expires) * 1000) {
      throw new DomainError('LINK_EXPIRED', 'the link has expired', { expiredAt: new Date(Number(expires) * 1000).toISOString() });
    }
  }

  private signature(path: string, expires: string): string {
    return createHmac('sha256', this.secret).update(`${path}\n${expires}`).digest('base64url');
  }
}

const signingEnvSchema = z.object({
  SWITCHYARD_URL_SIGNING_SECRET: z.string().min(MIN_SECRET_LENGTH, `at least ${MIN_SECRET_LENGTH} characters`).optional(),
});

export const DEFAULT_SIGNING_KEY_FILE = './data/url-signing.key';

export interface SigningSecretOptions {
  /** Where the embedded mode keeps its generated secret. */
  keyFile?: string;
  /** False in a distributed deployment: every gateway must verify what any other signed, so the secret must come from the environment. */
  allowGenerated?: boolean;
}

/**
 * The secret from SWITCHYARD_URL_SIGNING_SECRET or, when it is absent, one generated once and kept in
 * `keyFile` (mode 0600) beside the local data, so links handed out before a restart still open after it.
 * Its content is itself a valid SWITCHYARD_URL_SIGNING_SECRET, for moving to a distributed deployment.
 */
export function signingSecretFromEnv(env: NodeJS.ProcessEnv = process.env, options: SigningSecretOptions = {}): string {
  const parsed = signingEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`invalid URL signing configuration: ${problems}`);
  }
  const fromEnv = parsed.data.SWITCHYARD_URL_SIGNING_SECRET;
  if (fromEnv !== undefined) return fromEnv;
  if (options.allowGenerated === false) {
    throw new Error('invalid URL signing configuration: SWITCHYARD_URL_SIGNING_SECRET is required (every gateway must share it)');
  }
  return readOrCreateKeyFile(resolve(options.keyFile ?? DEFAULT_SIGNING_KEY_FILE));
}

function readOrCreateKeyFile(keyFile: string): string {
  try {
    return readKeyFile(keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(keyFile), { recursive: true });
  // Written whole under a temporary name, then linked into place: link fails if the name exists, so two
  // processes starting together agree on one secret and neither reads a half-written file.
  const temp = `${keyFile}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  return readKeyFile(keyFile);
}

function readKeyFile(keyFile: string): string {
  const secret = readFileSync(keyFile, 'utf8').trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`URL signing key file ${keyFile} holds fewer than ${MIN_SECRET_LENGTH} characters: remove it to generate a new one`);
  }
  return secret;
}
