import type { Principal } from '@switchyard/contracts';
import { CachedAuthenticator } from './cached-authenticator';

const alice: Principal = { orgId: 'org_a', userId: 'usr_a', role: 'admin', keyId: 'key_a' };

describe('CachedAuthenticator', () => {
  let clock: number;
  let lookups: string[];
  let valid: Record<string, Principal>;
  const make = (ttlMs: number, maxEntries?: number) =>
    new CachedAuthenticator(
      async (key) => {
        lookups.push(key);
        return valid[key] ?? null;
      },
      { ttlMs, now: () => clock, ...(maxEntries === undefined ? {} : { maxEntries }) },
    );

  beforeEach(() => {
    clock = 1_000;
    lookups = [];
    valid = { 'sy_a_secret': alice };
  });

  it('asks once per key within the lifetime, then again', async () => {
    const auth = make(5_000);
    await expect(auth.principalFor('sy_a_secret')).resolves.toEqual(alice);
    clock += 4_999;
    await expect(auth.principalFor('sy_a_secret')).resolves.toEqual(alice);
    expect(lookups).toHaveLength(1);
    clock += 1;
    delete valid['sy_a_secret'];
    await expect(auth.principalFor('sy_a_secret')).resolves.toBeNull();
    expect(lookups).toHaveLength(2);
  });

  it('never remembers a refusal: a wrong key always reaches the lookup', async () => {
    const auth = make(5_000);
    await auth.principalFor('sy_a_wrong');
    await auth.principalFor('sy_a_wrong');
    expect(lookups).toEqual(['sy_a_wrong', 'sy_a_wrong']);
  });

  it('forgets a revoked key at once', async () => {
    const auth = make(5_000);
    await auth.principalFor('sy_a_secret');
    auth.forget('key_a');
    delete valid['sy_a_secret'];
    await expect(auth.principalFor('sy_a_secret')).resolves.toBeNull();
  });

  it('keeps at most maxEntries keys, dropping the oldest', async () => {
    valid = { k1: alice, k2: { ...alice, keyId: 'key_2' }, k3: { ...alice, keyId: 'key_3' } };
    const auth = make(5_000, 2);
    for (const key of ['k1', 'k2', 'k3', 'k3', 'k2', 'k1']) await auth.principalFor(key);
    expect(lookups).toEqual(['k1', 'k2', 'k3', 'k1']);
  });

  it('asks once for requests that arrive while the same key is being looked up', async () => {
    const answers: (() => void)[] = [];
    const auth = new CachedAuthenticator(
      (key) =>
        new Promise((resolve) => {
          lookups.push(key);
          answers.push(() => resolve(valid[key] ?? null));
        }),
      { ttlMs: 5_000, now: () => clock },
    );
    const waiting = [auth.principalFor('sy_a_secret'), auth.principalFor('sy_a_secret'), auth.principalFor('sy_a_wrong')];
    expect(lookups).toEqual(['sy_a_secret', 'sy_a_wrong']);
    answers.forEach((answer) => answer());
    await expect(Promise.all(waiting)).resolves.toEqual([alice, alice, null]);
    // Once answered, the next request for a refused key asks again.
    void auth.principalFor('sy_a_wrong');
    expect(lookups).toEqual(['sy_a_secret', 'sy_a_wrong', 'sy_a_wrong']);
  });

  it('neither shares nor remembers a lookup that began before the key was forgotten', async () => {
    const answers: (() => void)[] = [];
    const auth = new CachedAuthenticator(
      (key) => {
        // The answer as the database gives it when asked, released later.
        const principal = valid[key] ?? null;
        lookups.push(key);
        return new Promise((resolve) => answers.push(() => resolve(principal)));
      },
      { ttlMs: 5_000, now: () => clock },
    );
    const before = auth.principalFor('sy_a_secret');
    // Revoked while that lookup runs: a request from now on asks again, and so does the one after.
    delete valid['sy_a_secret'];
    auth.forget('key_a');
    const during = auth.principalFor('sy_a_secret');
    answers.forEach((answer) => answer());
    await expect(before).resolves.toEqual(alice);
    await expect(during).resolves.toBeNull();
    const after = auth.principalFor('sy_a_secret');
    answers[2]?.();
    await expect(after).resolves.toBeNull();
    expect(lookups).toHaveLength(3);
  });

  it('asks every time when turned off', async () => {
    const auth = make(0);
    await auth.principalFor('sy_a_secret');
    await auth.principalFor('sy_a_secret');
    expect(lookups).toHaveLength(2);
  });
});
