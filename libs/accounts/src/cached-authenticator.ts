import { createHash } from 'node:crypto';
import type { Principal } from '@switchyard/contracts';

export interface CachedAuthenticatorOptions {
  /** How long a key that authenticated is trusted without asking the database again; 0 turns it off. */
  ttlMs: number;
  /** Keys remembered at once; the oldest is forgotten first. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Remembers keys that authenticated for a few seconds, so a client polling a job does not cost a
 * key lookup per request. Only successes are remembered (a wrong key always reaches the database,
 * and a new key works at once); a revoked key stops working within `ttlMs` on every replica, and
 * at once on the replica that revoked it (`forget`). Entries are keyed by the key's SHA-256, so the
 * cache never holds a key itself.
 *
 * Requests that present a key while its lookup runs share that lookup: when a busy key's entry
 * expires, the database is asked once, not once per request that arrives before it answers.
 */
export class CachedAuthenticator {
  private readonly entries = new Map<string, { principal: Principal; expiresAt: number }>();
  /** Lookups running now, by the key's hash. */
  private readonly lookups = new Map<string, Promise<Principal | null>>();
  /** Counts `forget` calls: a lookup that began before one must neither remember nor share what it found. */
  private generation = 0;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly authenticate: (presentedKey: string) => Promise<Principal | null>,
    private readonly options: CachedAuthenticatorOptions,
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  async principalFor(presentedKey: string): Promise<Principal | null> {
    if (this.options.ttlMs <= 0) return this.authenticate(presentedKey);
    const id = createHash('sha256').update(presentedKey).digest('base64url');
    const cached = this.entries.get(id);
    if (cached && cached.expiresAt > this.now()) return cached.principal;
    this.entries.delete(id);
    const running = this.lookups.get(id);
    if (running) return running;
    const lookup = this.lookUp(id, presentedKey);
    this.lookups.set(id, lookup);
    return lookup.finally(() => {
      if (this.lookups.get(id) === lookup) this.lookups.delete(id);
    });
  }

  private async lookUp(id: string, presentedKey: string): Promise<Principal | null> {
    const generation = this.generation;
    const principal = await this.authenticate(presentedKey);
    if (principal && generation === this.generation) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(id, { principal, expiresAt: this.now() + this.options.ttlMs });
    }
    return principal;
  }

  /** Forgets every remembered key of this API key id (after it was revoked here). */
  forget(keyId: string): void {
    this.generation += 1;
    this.lookups.clear();
    for (const [id, entry] of this.entries) if (entry.principal.keyId === keyId) this.entries.delete(id);
  }
}
