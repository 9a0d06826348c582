import type { Kysely } from 'kysely';
import type { AccountsStore } from '@switchyard/accounts';
import type { BlobStore } from '@switchyard/storage';
import type { Principal } from '@switchyard/contracts';
import type { EventStore } from '@switchyard/event-store';
import type { JobCache } from '@switchyard/jobs-read-model';
import type { CommandBus } from '@switchyard/messaging';

/** Everything the gateway needs from its composition root; it holds no job logic of its own. */
export interface GatewayDeps {
  /** The read models (jobs table). */
  db: Kysely<unknown>;
  /** Jobs kept between reads by id; only where this process's jobs projection makes every write (see JobCache). */
  jobCache?: JobCache;
  /** The event log, for `/events` and `/stream`. */
  store: EventStore;
  /** Commands to the service that owns a kind (NATS request/reply, or calls in process). */
  commands: CommandBus;
  /** Resolves a presented API key; null for a key nobody holds. */
  authenticate(presentedKey: string): Promise<Principal | null>;
  /** Named readiness checks; every one true means ready. */
  readiness(): Promise<Record<string, boolean>>;
  metrics?: {
    /** Events written but not yet published by the relay. */
    relayLag?(): Promise<number>;
    /** Events written but not yet applied by the asynchronous projections. */
    projectionLag?(): Promise<number>;
  };
  /** Organizations, users and keys, for the admin routes (the store the admin CLI uses). */
  accounts?: AccountsAdministration;
  /** An organization's credits: the balance and ledger it reads, the grants admins make. */
  credits?: CreditsAccess;
  /** Signs and checks the links to generated images (preview_url). */
  urlSigner?: UrlSigner;
  /** Where generated images are kept, to serve them behind their signed links. */
  blobs?: Pick<BlobStore, 'get'>;
  config?: Partial<GatewayConfig>;
}

export interface CreditBalanceView {
  balance: number;
  granted: number;
  debited: number;
  refunded: number;
}

export interface CreditLedgerEntry {
  type: string;
  amount: number;
  jobId?: string;
  reason?: string;
  at: string;
  version: number;
}

export interface CreditsAccess {
  balance(orgId: string): Promise<CreditBalanceView>;
  ledger(orgId: string, options?: { after?: number; limit?: number }): Promise<CreditLedgerEntry[]>;
  grant(orgId: string, amount: number, by: string, reason?: string): Promise<CreditBalanceView>;
}

export interface UrlSigner {
  /** `path?expires=…&signature=…` */
  sign(path: string, expiresAt: Date): string;
  /** Throws SIGNATURE_INVALID or LINK_EXPIRED. */
  verify(path: string, query: { expires?: string; signature?: string }, now?: Date): void;
}

export type AccountsAdministration = Pick<
  AccountsStore,
  'createOrganization' | 'listOrganizations' | 'createUser' | 'listUsers' | 'createApiKey' | 'revokeApiKey'
>;

export interface GatewayConfig {
  /** How long the print dialect serves a job after it ended (print-jobs.txt: 1 hour). */
  printJobRetentionMs: number;
  /** The longest `wait: true` holds a print request. */
  waitCapMs: number;
  /** The largest request body accepted (base64 documents are inline). */
  bodyLimitBytes: number;
  /** How often a server-sent-events stream, or a waiting print request, looks for news. */
  streamPollMs: number;
  /** How long a generated image's link works after its job completed (image dialect: 7 days). */
  previewTtlMs: number;
  /** How long a key that authenticated is trusted without a lookup (a revocation elsewhere takes this long); 0: never. */
  authCacheTtlMs: number;
}

export const DEFAULT_GATEWAY_CONFIG: GatewayConfig = {
  printJobRetentionMs: 60 * 60 * 1000,
  waitCapMs: 60_000,
  bodyLimitBytes: 16 * 1024 * 1024,
  streamPollMs: 200,
  previewTtlMs: 7 * 24 * 60 * 60 * 1000,
  authCacheTtlMs: 5_000,
};

export const gatewayConfig = (overrides: Partial<GatewayConfig> = {}): GatewayConfig => {
  const config = { ...DEFAULT_GATEWAY_CONFIG };
  for (const [name, value] of Object.entries(overrides) as [keyof GatewayConfig, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`gateway config ${name} must be a number >= 0, got ${value}`);
    config[name] = value;
  }
  return config;
};

/** DI tokens: controllers get the composition root's dependencies through Nest, never a global. */
export const GATEWAY_DEPS = Symbol('GATEWAY_DEPS');
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
