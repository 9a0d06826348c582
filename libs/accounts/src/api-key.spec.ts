import {
  DUMMY_SECRET_HASH,
  derivedKeyId,
  generateApiKey,
  hashSecret,
  keyLookupOf,
  parseApiKey,
  randomAlphanumerics,
  secretMatches,
  verifySecret,
} from './api-key';

describe('API keys', () => {
  it('issues sy_<12 alphanumerics>_<43 base64url> keys that parse back into their parts', () => {
    const issued = generateApiKey();
    expect(issued.key).toMatch(/^sy_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(parseApiKey(issued.key)).toEqual({ keyId: issued.keyId, secret: issued.secret });
    expect(generateApiKey().key).not.toBe(issued.key);
  });

  it.each([
    ['empty', ''],
    ['10 KB', `sy_abcdefghijkl_${'a'.repeat(10_240)}`],
    ['wrong prefix', `sk_abcdefghijkl_${'a'.repeat(43)}`],
    ['short key id', `sy_abcdefghijk_${'a'.repeat(43)}`],
    ['short secret', `sy_abcdefghijkl_${'a'.repeat(42)}`],
    ['key id with a dash', `sy_abcdefghij-l_${'a'.repeat(43)}`],
    ['trailing space', `sy_abcdefghijkl_${'a'.repeat(43)} `],
  ])('does not parse a malformed key (%s)', (_case, presented) => {
    expect(parseApiKey(presented)).toBeNull();
  });

  it('looks an issued key up by its own id, anything else a bootstrap key could be by a derived id', () => {
    const issued = generateApiKey();
    expect(keyLookupOf(issued.key)).toEqual({ keyId: issued.keyId, secret: issued.secret });
    const chosen = 'operator-chosen-key-0123456789';
    expect(keyLookupOf(chosen)).toEqual({ keyId: derivedKeyId(chosen), secret: chosen });
    expect(derivedKeyId(chosen)).toMatch(/^[0-9a-f]{12}$/);
    // The public id is not a prefix of the stored hash.
    expect(hashSecret(chosen).toString('hex').startsWith(derivedKeyId(chosen))).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['23 characters', 'x'.repeat(23)],
    ['10 KB', 'x'.repeat(10_240)],
    ['a space inside', `${'x'.repeat(20)} ${'x'.repeat(20)}`],
    ['non-ASCII', `${'x'.repeat(30)}é`],
  ])('has no lookup for what is neither (%s)', (_case, presented) => {
    expect(keyLookupOf(presented)).toBeNull();
  });

  it('matches a secret against its hash only', () => {
    const { secret } = generateApiKey();
    const hash = hashSecret(secret);
    expect(hash).toHaveLength(32);
    expect(secretMatches(hash, secret)).toBe(true);
    expect(secretMatches(hash, `${secret.slice(0, -1)}x`)).toBe(false);
    expect(secretMatches(new Uint8Array(hash), secret)).toBe(true);
    expect(secretMatches(hash.subarray(0, 16), secret)).toBe(false);
  });

  it('compares against the dummy hash when no key was found, and never accepts that', () => {
    const matches = jest.fn((_hash: Uint8Array, _secret: string) => true);
    expect(verifySecret(undefined, 'whatever', matches)).toBe(false);
    expect(matches).toHaveBeenCalledTimes(1);
    expect(matches).toHaveBeenCalledWith(DUMMY_SECRET_HASH, 'whatever');
    const hash = hashSecret('s');
    expect(verifySecret(hash, 's')).toBe(true);
  });

  it('draws alphanumerics of the asked length', () => {
    const drawn = randomAlphanumerics(500);
    expect(drawn).toMatch(/^[A-Za-z0-9]{500}$/);
  });
});
