import type { ColumnType, Generated } from 'kysely';

export interface EventsTable {
  global_position: ColumnType<string, never, never>;
  transaction_id: ColumnType<string, never, never>;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  data: unknown;
  metadata: unknown;
  created_at: ColumnType<Date, never, never>;
}

export interface StreamsTable {
  stream_id: string;
  version: number;
  /** The transaction that last appended; a later append must come from a newer one (see append). */
  last_transaction_id: ColumnType<string, never, never>;
}

export interface SubscriptionCheckpointsTable {
  consumer: string;
  transaction_id: ColumnType<string, string | undefined, string>;
  global_position: ColumnType<string, string | number | undefined, string | number>;
  owner: string | null;
  lease_expires_at: Date | null;
  updated_at: Generated<Date>;
}

export interface EventStoreTables {
  events: EventsTable;
  streams: StreamsTable;
  subscription_checkpoints: SubscriptionCheckpointsTable;
}
