import { sql, type QueryExecutorProvider } from 'kysely';
import type { EventMetadata, RecordedEvent } from '@switchyard/contracts';

/** An `events` row as the store's queries select it (positions and ids as text). */
export interface EventRow {
  global_position: string | number;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  data: unknown;
  metadata: unknown;
  created_at: Date | string;
}

export const toRecordedEvent = (row: EventRow): RecordedEvent => ({
  type: row.type,
  data: row.data as Record<string, unknown>,
  metadata: (row.metadata ?? {}) as EventMetadata,
  eventId: row.event_id,
  streamId: row.stream_id,
  streamVersion: row.stream_version,
  globalPosition: Number(row.global_position),
  transactionId: String(row.transaction_id),
  createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
});

/**
 * Every event of the streams whose id starts with `streamPrefix`, in global-position order, in
 * batches: what a read model's rebuild replays. Per stream, positions rise with versions (a
 * stream's next version is claimed after its last append committed), so each stream comes in order.
 */
export async function* readEventsByPosition(
  executor: QueryExecutorProvider,
  streamPrefix: string,
  batchSize = 5_000,
): AsyncGenerator<RecordedEvent[]> {
  let after = '0';
  for (;;) {
    const { rows } = await sql<EventRow>`
      SELECT global_position::text AS global_position, transaction_id::text AS transaction_id,
             event_id::text AS event_id, stream_id, stream_version, type, data, metadata, created_at
      FROM events
      WHERE events.global_position > ${after}::bigint AND stream_id LIKE ${`${streamPrefix}%`}
      -- Qualified: the bare name would sort by the text alias above ("100" < "99").
      ORDER BY events.global_position
      LIMIT ${batchSize}`.execute(executor);
    if (rows.length === 0) return;
    yield rows.map(toRecordedEvent);
    after = String((rows[rows.length - 1] as EventRow).global_position);
  }
}
