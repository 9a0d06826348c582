import { sql, type Kysely, type Migration, type Transaction } from 'kysely';
import { PREPARED } from '@switchyard/event-store';

/** The messaging lib's tables, run by the event store's migrator beside its own. */
export const messagingMigrations: Record<string, Migration> = {
  '0200_consumer_inbox': {
    async up(db: Kysely<unknown>) {
      // One row per (consumer, event) applied: a redelivered event finds its row and is skipped.
      await sql`
        CREATE TABLE consumer_inbox (
          consumer text NOT NULL,
          event_id uuid NOT NULL,
          processed_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (consumer, event_id)
        )`.execute(db);
      // Old rows can be pruned once older than the longest redelivery horizon.
      await sql`CREATE INDEX consumer_inbox_processed_at ON consumer_inbox (processed_at)`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await sql`DROP TABLE consumer_inbox`.execute(db);
    },
  },
};

/**
 * Records that `consumer` applies `eventId` in this transaction. False when a committed (or
 * concurrently committing) transaction already did: the caller must then skip the event.
 */
export async function claimInboxEntry<DB>(tx: Transaction<DB>, consumer: string, eventId: string): Promise<boolean> {
  const { rows } = await sql<{ event_id: string }>`
    INSERT INTO consumer_inbox (consumer, event_id) VALUES (${consumer}, ${eventId}::uuid)
    ON CONFLICT DO NOTHING
    RETURNING event_id`.execute(tx);
  return rows.length > 0;
}

/** claimInboxEntry for several events in one statement: the ids this transaction now applies. */
export async function claimInboxEntries<DB>(tx: Transaction<DB>, consumer: string, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const { rows } = await sql<{ event_id: string }>`${sql.raw(PREPARED)}
    INSERT INTO consumer_inbox (consumer, event_id)
    SELECT ${consumer}, id::uuid FROM jsonb_array_elements_text(${JSON.stringify(eventIds)}::jsonb) AS ids(id)
    ON CONFLICT DO NOTHING
    RETURNING event_id::text`.execute(tx);
  return new Set(rows.map((row) => row.event_id));
}
