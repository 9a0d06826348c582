import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorCode } from '@switchyard/contracts';
import { isDomainError } from '@switchyard/contracts';
import fc from 'fast-check';
import { SignedUrls, signingSecretFromEnv } from './signed-urls';

const SECRET = 'an-example-secret-of-at-least-32-characters';
const PATH = '/v1/api/jobs/job-42/previews/sha256-abc';
const NOW = new Date('2026-03-01T12:00:00Z');
const IN_7_DAYS = new Date(NOW.getTime() + 7 * 24 * 60 * 60 * 1000);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Splits a signed link as a gateway would: its path, and its query as an object. */
const parse = (link: string): { path: string; query: Record<string, string> } => {
  const url = new URL(link, 'http://gateway.test');
  return { path: url.pathname, query: Object.fromEntries(url.searchParams) };
};

const failureOf = (verify: () => void): ErrorCode | 'none' => {
  try {
    verify();
    return 'none';
  } catch (error) {
    if (isDomainError(error)) return error.code;
    throw error;
  }
};

describe('SignedUrls', () => {
  const urls = new SignedUrls(SECRET);
  const link = urls.sign(PATH, IN_7_DAYS);
  const { query } = parse(link);

  it('signs path and expiry into the query', () => {
    expect(link).toMatch(new RegExp(`^${PATH}\\?expires=${IN_7_DAYS.getTime() / 1000}&signature=[A-Za-z0-9_-]{43}$`));
  });

  it('verifies a link it signed, up to the second before it expires', () => {
    expect(failureOf(() => urls.verify(PATH, query, NOW))).toBe('none');
    expect(failureOf(() => urls.verify(PATH, query, new Date(IN_7_DAYS.getTime() - 1)))).toBe('none');
  });

  it('refuses an expired link with LINK_EXPIRED', () => {
    expect(failureOf(() => urls.verify(PATH, query, IN_7_DAYS))).toBe('LINK_EXPIRED');
    expect(failureOf(() => urls.verify(PATH, query, new Date(IN_7_DAYS.getTime() + 60_000)))).toBe('LINK_EXPIRED');
  });

  it('rounds the expiry down to a whole second, never past the moment asked for', () => {
    const { query: rounded } = parse(urls.sign(PATH, new Date(IN_7_DAYS.getTime() + 999)));
    expect(rounded['expires']).toBe(query['expires']);
  });

  it.each([
    ['another path', { path: `${PATH}x` }],
    ['a path of another job', { path: PATH.replace('job-42', 'job-43') }],
    ['a later expiry', { query: { ...query, expires: String(Number(query['expires']) + 1) } }],
    ['an earlier expiry', { query: { ...query, expires: String(Number(query['expires']) - 3600) } }],
    ['an expiry with a leading zero', { query: { ...query, expires: `0${query['expires']}` } }],
    ['a garbled expiry', { query: { ...query, expires: 'tomorrow' } }],
    ['no expiry', { query: { signature: query['signature'] } }],
    ['no signature', { query: { expires: query['expires'] } }],
    ['no query at all', { query: {} }],
    ['an empty signature', { query: { ...query, signature: '' } }],
    ['a truncated signature', { query: { ...query, signature: query['signature']?.slice(0, -1) } }],
    ['a longer signature', { query: { ...query, signature: `${query['signature']}A` } }],
    ['a padded signature', { query: { ...query, signature: `${query['signature']}=` } }],
    ['a signature repeated in the query', { query: { ...query, signature: [query['signature'], query['signature']] } }],
    ['the signature in plain base64', { query: { ...query, signature: Buffer.from(query['signature'] ?? '', 'base64url').toString('base64') } }],
  ])('refuses %s with SIGNATURE_INVALID', (_change, { path = PATH, query: changed = query }: { path?: string; query?: object }) => {
    expect(failureOf(() => urls.verify(path, changed, NOW))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a tampered link even when it has expired: the signature is checked first', () => {
    const later = { ...query, expires: String(Number(query['expires']) + 1) };
    expect(failureOf(() => urls.verify(PATH, later, new Date(IN_7_DAYS.getTime() + 60_000)))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a link signed with another secret', () => {
    const other = new SignedUrls(Buffer.alloc(32, 7));
    expect(failureOf(() => other.verify(PATH, query, NOW))).toBe('SIGNATURE_INVALID');
    expect(failureOf(() => new SignedUrls(`${SECRET}!`).verify(PATH, query, NOW))).toBe('SIGNATURE_INVALID');
  });

  it('accepts a secret given as bytes the same as the same text', () => {
    expect(failureOf(() => new SignedUrls(Buffer.from(SECRET)).verify(PATH, query, NOW))).toBe('none');
  });

  it('refuses any single-character change of the signature', () => {
    const signature = query['signature'] ?? '';
    fc.assert(
      fc.property(
        fc.nat({ max: signature.length - 1 }),
        fc.oneof(fc.constantFrom(...BASE64URL), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })),
        (position, replacement) => {
          fc.pre(replacement !== signature[position]);
          const changed = signature.slice(0, position) + replacement + signature.slice(position + 1);
          return failureOf(() => urls.verify(PATH, { ...query, signature: changed }, NOW)) === 'SIGNATURE_INVALID';
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses every other last character, though some decode to the same bytes', () => {
    const signature = query['signature'] ?? '';
    for (const last of BASE64URL.replace(signature.at(-1) ?? '', '')) {
      const changed = signature.slice(0, -1) + last;
      expect(failureOf(() => urls.verify(PATH, { ...query, signature: changed }, NOW))).toBe('SIGNATURE_INVALID');
    }
  });

  it('verifies what it signs for any path and any future expiry', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((path) => !/[?#]/.test(path)),
        fc.integer({ min: 1, max: 10 * 365 * 24 * 3600 }),
        (path, seconds) => {
          const signed = urls.sign(path, new Date(NOW.getTime() + seconds * 1000));
          const signedQuery = Object.fromEntries(new URLSearchParams(signed.slice(path.length + 1)));
          return failureOf(() => urls.verify(path, signedQuery, NOW)) === 'none';
        },
      ),
    );
  });

  it('refuses a short secret, a path with a query and an invalid date', () => {
    expect(() => new SignedUrls('too short')).toThrow(/at least 32 bytes/);
    expect(() => urls.sign('/a?b=c', IN_7_DAYS)).toThrow(/without a query/);
    expect(() => urls.sign(PATH, new Date(Number.NaN))).toThrow(/not a valid date/);
  });
});

describe('signingSecretFromEnv', () => {
  let dir: string;
  let keyFile: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-signing-'));
    keyFile = join(dir, 'data', 'url-signing.key');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('takes SWITCHYARD_URL_SIGNING_SECRET when set, and writes no file', async () => {
    expect(signingSecretFromEnv({ SWITCHYARD_URL_SIGNING_SECRET: SECRET }, { keyFile })).toBe(SECRET);
    await expect(stat(keyFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a secret shorter than 32 characters', () => {
    expect(() => signingSecretFromEnv({ SWITCHYARD_URL_SIGNING_SECRET: 'x'.repeat(31) }, { keyFile })).toThrow(
      /SWITCHYARD_URL_SIGNING_SECRET: at least 32 characters/,
    );
  });

  it('without it, generates a secret once, readable only by its owner, and keeps it across restarts', async () => {
    const first = signingSecretFromEnv({}, { keyFile });
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(signingSecretFromEnv({}, { keyFile })).toBe(first);
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(first);
    expect(signingSecretFromEnv({ SWITCHYARD_URL_SIGNING_SECRET: first })).toBe(first);
  });

  it('links signed before a restart verify after it', () => {
    const link = parse(new SignedUrls(signingSecretFromEnv({}, { keyFile })).sign(PATH, IN_7_DAYS));
    const afterRestart = new SignedUrls(signingSecretFromEnv({}, { keyFile }));
    expect(failureOf(() => afterRestart.verify(link.path, link.query, NOW))).toBe('none');
  });

  it('requires the variable where generating is not allowed (a distributed deployment)', () => {
    expect(() => signingSecretFromEnv({}, { keyFile, allowGenerated: false })).toThrow(/SWITCHYARD_URL_SIGNING_SECRET is required/);
  });

  it('refuses a key file that holds too little', async () => {
    signingSecretFromEnv({}, { keyFile });
    await writeFile(keyFile, 'short\n');
    expect(() => signingSecretFromEnv({}, { keyFile })).toThrow(/fewer than 32 characters/);
  });
});
