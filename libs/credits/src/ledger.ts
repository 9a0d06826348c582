import { sql, type Kysely } from 'kysely';
import { creditsStreamId, DomainError, type CreditEvent, type EventMetadata } from '@switchyard/contracts';
import { retryOnVersionConflict, type EventStore, type EventStoreSession } from '@switchyard/event-store';
import type { CreditsCommand } from './domain/credits-commands';
import {
  balanceOf,
  creditsDecider,
  narrowToJob,
  type CreditBalance,
  type CreditsState,
} from './domain/credits-decider';
import { toCharge, toCreditEvent } from './credits-projection';
import type { CreditsTables } from './schema';

// Callers wrap their own transactions in it (see `debit`); kept here beside the ledger they use it with.
export { retryOnVersionConflict } from '@switchyard/event-store';

/** One line of an organization's credit history, as the stream holds it. */
export interface CreditLedgerEntry {
  type: CreditEvent['type'];
  amount: number;
  jobId?: string;
  reason?: string;
  /** Who granted (grants only). */
  by?: string;
  at: string;
  /** The entry's version in `credits-<orgId>`: page with `after`. */
  version: number;
}

export interface CreditLedgerQuery {
  /** Entries after this stream version; 0 (the default) starts at the first. */
  after?: number;
  /** At most this many entries; default 100, at most 1,000. */
  limit?: number;
}

export interface CreditsLedgerOptions {
  now?: () => Date;
}

interface Loaded {
  state: CreditsState;
  expectedVersion: number | 'no_stream';
}

interface SnapshotRow {
  stream_version: number | null;
  balance_version: number | null;
  balance: string | number | null;
  granted: string | number | null;
  debited: string | number | null;
  refunded: string | number | null;
  job_debited: string | number | null;
  job_refunded: string | number | null;
  job_refunds: unknown;
}

const MAX_LEDGER_PAGE = 1_000;

/**
 * An organization's credits: the `credits-<orgId>` stream, decided by `creditsDecider`, with its
 * totals in `credit_balances` (kept by `creditsProjection`, which the store must be given). Debits
 * and refunds are appended in the caller's transaction, so they commit with the job event that
 * causes them, or not at all.
 */
export class CreditsLedger {
  private readonly now: () => Date;

  constructor(
    private readonly store: EventStore,
    private readonly db: Kysely<unknown>,
    options: CreditsLedgerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Adds credits in a transaction of its own, re-deciding on a concurrent append; returns the new totals. */
  async grant(orgId: string, amount: number, by: string, reason?: string): Promise<CreditBalance> {
    const command: CreditsCommand = {
      type: 'GrantCredits',
      data: { amount, by, ...(reason === undefined ? {} : { reason }), now: this.now().toISOString() },
    };
    return retryOnVersionConflict(() =>
      this.store.transaction(async (session) => balanceOf(await this.execute(session, orgId, command, { orgId, actor: by }))),
    );
  }

  /**
   * Charges `jobId` in the caller's transaction (the job's submission), deciding on the stream as
   * read in that same transaction. Throws INSUFFICIENT_CREDITS when the balance is short, and a
   * repeated debit of the same amount for the same job changes nothing.
   *
   * When another transaction appended to the credits stream first (a concurrent submission), the
   * append throws the store's VersionConflictError (VERSION_CONFLICT). The transaction is then
   * doomed: the CALLER must retry its whole transaction, job append included, e.g.
   * `retryOnVersionConflict(() => store.transaction(async (session) => { ...job...; await ledger.debit(session, ...) }))`.
   */
  async debit(session: EventStoreSession, orgId: string, jobId: string, amount: number): Promise<void> {
    await this.execute(session, orgId, { type: 'DebitCredits', data: { jobId, amount, now: this.now().toISOString() } }, { orgId });
  }

  /**
   * Gives back up to what `jobId` was debited, in the caller's transaction (the completion that
   * shows what the job could not deliver). Throws REFUND_EXCEEDS_DEBIT beyond that; the same
   * refund repeated after a full refund changes nothing. On VERSION_CONFLICT the CALLER must retry
   * its whole transaction (see `debit` and `retryOnVersionConflict`).
   */
  async refund(session: EventStoreSession, orgId: string, jobId: string, amount: number, reason?: string): Promise<void> {
    await this.execute(
      session,
      orgId,
      { type: 'RefundCredits', data: { jobId, amount, ...(reason === undefined ? {} : { reason }), now: this.now().toISOString() } },
      { orgId },
    );
  }

  /** The totals as of the last committed append (zeros for an organization never granted anything). */
  async balance(orgId: string): Promise<CreditBalance> {
    const row = await (this.db as Kysely<CreditsTables>)
      .selectFrom('credit_balances')
      .select(['balance', 'granted', 'debited', 'refunded'])
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!row) return { balance: 0, granted: 0, debited: 0, refunded: 0 };
    return { balance: Number(row.balance), granted: Number(row.granted), debited: Number(row.debited), refunded: Number(row.refunded) };
  }

  /** The entries of the organization's credits stream, oldest first, read from the stream itself. */
  async ledger(orgId: string, { after = 0, limit = 100 }: CreditLedgerQuery = {}): Promise<CreditLedgerEntry[]> {
    if (!Number.isSafeInteger(after) || after < 0) throw new DomainError('VALIDATION_FAILED', `after must be a whole number >= 0, got ${after}`);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new DomainError('VALIDATION_FAILED', `limit must be a whole number >= 1, got ${limit}`);
    const to = after + Math.min(limit, MAX_LEDGER_PAGE);
    const { events } = await this.store.readStream(creditsStreamId(orgId), { from: after + 1, to });
    return events.map((recorded) => {
      const event = toCreditEvent(recorded);
      const { amount, at } = event.data;
      const entry: CreditLedgerEntry = { type: event.type, amount, at, version: recorded.streamVersion };
      if (event.type !== 'CreditsGranted') entry.jobId = event.data.jobId;
      if (event.type === 'CreditsGranted') entry.by = event.data.by;
      if (event.type !== 'CreditsDebited' && event.data.reason !== undefined) entry.reason = event.data.reason;
      return entry;
    });
  }

  /** Reads, decides and appends once, in `session`; a conflict is the caller's to retry. */
  private async execute(session: EventStoreSession, orgId: string, command: CreditsCommand, metadata: EventMetadata): Promise<CreditsState> {
    const streamId = creditsStreamId(orgId);
    const jobId = command.type === 'GrantCredits' ? undefined : command.data.jobId;
    const { state, expectedVersion } = await this.load(session, streamId, orgId, jobId);
    const events = creditsDecider.decide(command, state);
    if (events.length === 0) return state;
    await session.appendToStream(streamId, events, { expectedVersion, metadata });
    return events.reduce(creditsDecider.evolve, state);
  }

  /**
   * The state a decision needs (totals and the one job it names) and the version it was read at.
   * One statement, one snapshot: from the read model when it is at the stream's version (the
   * common case, O(1)); otherwise (a store without creditsProjection) by folding the stream.
   */
  private async load(session: EventStoreSession, streamId: string, orgId: string, jobId: string | undefined): Promise<Loaded> {
    const { rows } = await sql<SnapshotRow>`
      SELECT s.version AS stream_version, b.version AS balance_version,
             b.balance, b.granted, b.debited, b.refunded,
             j.debited AS job_debited, j.refunded AS job_refunded, j.refunds AS job_refunds
      FROM (SELECT 1) AS one
      LEFT JOIN streams s ON s.stream_id = ${streamId}
      LEFT JOIN credit_balances b ON b.org_id = ${orgId}
      LEFT JOIN credit_job_charges j ON j.org_id = ${orgId} AND j.job_id = ${jobId ?? null}::text`.execute(session.tx);
    const row = rows[0] as SnapshotRow;
    if (row.stream_version === null) return { state: creditsDecider.initialState(), expectedVersion: 'no_stream' };
    if (row.balance_version === row.stream_version) {
      const state: CreditsState = {
        balance: Number(row.balance),
        granted: Number(row.granted),
        debited: Number(row.debited),
        refunded: Number(row.refunded),
        jobs:
          jobId === undefined || row.job_debited === null
            ? new Map()
            : new Map([[jobId, toCharge({ debited: row.job_debited, refunded: row.job_refunded ?? 0, refunds: row.job_refunds })]]),
      };
      return { state, expectedVersion: row.stream_version };
    }
    const { events, currentVersion } = await session.readStream(streamId);
    const state = events
      .map(toCreditEvent)
      .reduce((current, event) => narrowToJob(creditsDecider.evolve(current, event), jobId), creditsDecider.initialState());
    return { state, expectedVersion: currentVersion === 0 ? 'no_stream' : currentVersion };
  }
}
