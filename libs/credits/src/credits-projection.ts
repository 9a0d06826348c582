import { sql, type Kysely, type Transaction } from 'kysely';
import {
  CREDIT_EVENT_TYPES,
  creditEventSchema,
  streamCategory,
  streamEntityId,
  type CreditEvent,
  type RecordedEvent,
} from '@switchyard/contracts';
import { readEventsByPosition, toRecordedEvent, type EventRow, type InlineProjection } from '@switchyard/event-store';
import { evolveCredits, initialCreditsState, type CreditsState, type JobCharge } from './domain/credits-decider';
import type { CreditsTables } from './schema';

type Executor = Kysely<CreditsTables> | Transaction<CreditsTables>;

export const CREDITS_STREAM_CATEGORY = 'credits';

/** A credit event as the log holds it, checked: the ledger must never fold what it cannot read. */
export function toCreditEvent(event: RecordedEvent): CreditEvent {
  const parsed = creditEventSchema.safeParse({ type: event.type, data: event.data });
  if (!parsed.success) {
    throw new Error(`${event.streamId}@${event.streamVersion}: not a valid ${event.type} event: ${parsed.error.message}`);
  }
  return parsed.data;
}

const jobIdOf = (event: CreditEvent): string | undefined => (event.type === 'CreditsGranted' ? undefined : event.data.jobId);

interface TouchedCharge {
  charge: JobCharge;
  version: number;
  at: string;
}

const groupByStream = (events: readonly RecordedEvent[]): Map<string, RecordedEvent[]> => {
  const streams = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    if (streamCategory(event.streamId) !== CREDITS_STREAM_CATEGORY) continue;
    const list = streams.get(event.streamId) ?? [];
    list.push(event);
    streams.set(event.streamId, list);
  }
  return streams;
};

export const toCharge = (row: { debited: string | number; refunded: string | number; refunds: unknown }): JobCharge => ({
  debited: Number(row.debited),
  refunded: Number(row.refunded),
  refunds: (row.refunds as number[]).map(Number),
});

interface StoredTotals {
  state: CreditsState;
  /** The stream version the row reflects; 0 without a row. */
  version: number;
}

async function loadTotals(executor: Executor, orgId: string): Promise<StoredTotals> {
  const row = await executor
    .selectFrom('credit_balances')
    .select(['balance', 'granted', 'debited', 'refunded', 'version'])
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) return { state: initialCreditsState(), version: 0 };
  const state = { ...initialCreditsState(), balance: Number(row.balance), granted: Number(row.granted), debited: Number(row.debited), refunded: Number(row.refunded) };
  return { state, version: row.version };
}

/** Events of `streamId` after `after` and before `before`, from the log, in the open transaction. */
async function readMissed(executor: Executor, streamId: string, after: number, before: number): Promise<RecordedEvent[]> {
  const { rows } = await sql<EventRow>`
    SELECT global_position::text AS global_position, transaction_id::text AS transaction_id,
           event_id::text AS event_id, stream_id, stream_version, type, data, metadata, created_at
    FROM events
    WHERE stream_id = ${streamId} AND stream_version > ${after} AND stream_version < ${before}
    ORDER BY events.stream_version`.execute(executor);
  return rows.map(toRecordedEvent).filter((event) => CREDIT_EVENT_TYPES.includes(event.type as CreditEvent['type']));
}

async function loadCharges(executor: Executor, orgId: string, jobIds: readonly string[]): Promise<Map<string, JobCharge>> {
  if (jobIds.length === 0) return new Map();
  const rows = await executor
    .selectFrom('credit_job_charges')
    .select(['job_id', 'debited', 'refunded', 'refunds'])
    .where('org_id', '=', orgId)
    .where('job_id', 'in', jobIds)
    .execute();
  return new Map(rows.map((row) => [row.job_id, toCharge(row)]));
}

/**
 * Folds one organization's new events into its rows with the decider's own evolve, so the read
 * model is the fold by construction. The state is narrowed to the event's job at each step: a
 * batch of n events costs O(n), however many jobs the organization has. A row behind the stream
 * (appends made through a store without this projection) catches up from the log first; events
 * the row already reflects are skipped.
 */
async function applyStream(executor: Executor, streamId: string, recorded: readonly RecordedEvent[]): Promise<void> {
  const orgId = streamEntityId(streamId);
  const stored = await loadTotals(executor, orgId);
  const fresh = recorded.filter((event) => event.streamVersion > stored.version);
  const first = fresh[0];
  if (first === undefined) return;
  const missed = first.streamVersion > stored.version + 1 ? await readMissed(executor, streamId, stored.version, first.streamVersion) : [];
  const events = [...missed, ...fresh].map((event) => ({ event: toCreditEvent(event), version: event.streamVersion }));
  const jobIds = [...new Set(events.map(({ event }) => jobIdOf(event)).filter((id): id is string => id !== undefined))];
  let totals = stored.state;
  const charges = await loadCharges(executor, orgId, jobIds);
  const touched = new Map<string, TouchedCharge>();
  for (const { event, version } of events) {
    const jobId = jobIdOf(event);
    const charge = jobId === undefined ? undefined : charges.get(jobId);
    const next = evolveCredits({ ...totals, jobs: jobId && charge ? new Map([[jobId, charge]]) : new Map() }, event);
    totals = { ...next, jobs: new Map() };
    if (jobId === undefined) continue;
    const after = next.jobs.get(jobId) as JobCharge;
    charges.set(jobId, after);
    touched.set(jobId, { charge: after, version, at: event.data.at });
  }
  const last = events[events.length - 1];
  if (last === undefined) return;
  const balanceRow = {
    org_id: orgId,
    balance: totals.balance,
    granted: totals.granted,
    debited: totals.debited,
    refunded: totals.refunded,
    version: last.version,
    updated_at: last.event.data.at,
  };
  await executor
    .insertInto('credit_balances')
    .values(balanceRow)
    .onConflict((conflict) => conflict.column('org_id').doUpdateSet(balanceRow))
    .execute();
  for (const [jobId, { charge, version, at }] of touched) {
    const chargeRow = {
      org_id: orgId,
      job_id: jobId,
      debited: charge.debited,
      refunded: charge.refunded,
      refunds: JSON.stringify(charge.refunds),
      version,
      updated_at: at,
    };
    await executor
      .insertInto('credit_job_charges')
      .values(chargeRow)
      .onConflict((conflict) => conflict.columns(['org_id', 'job_id']).doUpdateSet(chargeRow))
      .execute();
  }
}

async function applyCreditEvents(executor: Executor, events: readonly RecordedEvent[]): Promise<void> {
  for (const [streamId, streamEvents] of groupByStream(events)) await applyStream(executor, streamId, streamEvents);
}

/**
 * `credit_balances` and `credit_job_charges`, kept in the append transaction: a balance read right
 * after a debit sees it, and the ledger decides from these rows when they are at the stream's
 * version. Appends to one stream are serialized by the store, so read-modify-write is safe here.
 */
export const creditsProjection: InlineProjection = {
  name: 'credits',
  canHandle: CREDIT_EVENT_TYPES,
  handle: (events, tx) => applyCreditEvents(tx as unknown as Transaction<CreditsTables>, events),
};

// Per stream, positions rise with versions, so replaying in position order replays each stream in order.
/**
 * Throws the credits read model away and replays every `credits-*` stream into it, in one
 * transaction: readers see the old rows or the new ones, never a half-built table. Returns the
 * number of events replayed.
 */
export async function rebuildCreditBalances(db: Kysely<unknown>, batchSize = 5_000): Promise<number> {
  return (db as Kysely<CreditsTables>).transaction().execute(async (tx) => {
    await sql`DELETE FROM credit_job_charges`.execute(tx);
    await sql`DELETE FROM credit_balances`.execute(tx);
    let replayed = 0;
    for await (const batch of readEventsByPosition(tx, `${CREDITS_STREAM_CATEGORY}-`, batchSize)) {
      const events = batch.filter((event) => (CREDIT_EVENT_TYPES as readonly string[]).includes(event.type));
      await applyCreditEvents(tx, events);
      replayed += events.length;
    }
    return replayed;
  });
}
