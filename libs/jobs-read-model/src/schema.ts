import type { ColumnType } from 'kysely';

export interface JobsTable {
  id: string;
  kind: string;
  org_id: string;
  status: string;
  progress: number;
  attempts: number;
  priority: number;
  external_id: string | null;
  /** The job stream's version this row reflects. */
  version: number;
  created_at: ColumnType<Date, string, string>;
  updated_at: ColumnType<Date, string, string>;
  finished_at: ColumnType<Date | null, string | null, string | null>;
  run_at: ColumnType<Date | null, string | null, string | null>;
  /** The lifecycle state (JobState) the row was computed from. */
  state: unknown;
  /** The kind's own state, folded from the kind's own events (a printer's job id, a page count). */
  kind_state: unknown;
}

export interface JobsReadModelTables {
  jobs: JobsTable;
}
