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
 */
export class CachedAuthenticator {
  private readonly entries = new Map<string, { principal: Principal; expiresAt: number }>();
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
    const principal = await this.authenticate(presentedKey);
    if (principal) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(id, { principal, expiresAt: this.now() + this.options.ttlMs });
    }
    return principal;
  }

  /** Forgets every remembered key of this API key id (after it was revoked here). */
  forget(keyId: string): void {
    for (const [id, entry] of this.entries) if (entry.principal.keyId === keyId) this.entries.delete(id);
  }
}
