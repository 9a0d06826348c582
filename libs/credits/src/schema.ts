import type { ColumnType } from 'kysely';

/** int8 columns: pg hands them back as strings, PGlite as numbers; read them through Number(). */
type Amount = ColumnType<string | number, number, number>;

/** One row per organization: the totals of its `credits-<orgId>` stream. */
export interface CreditBalancesTable {
  org_id: string;
  balance: Amount;
  granted: Amount;
  debited: Amount;
  refunded: Amount;
  /** The credits stream's version this row reflects. */
  version: number;
  /** The `at` of the last event folded in. */
  updated_at: ColumnType<Date, string, string>;
}

/** One row per charged job: what it was debited and given back. */
export interface CreditJobChargesTable {
  org_id: string;
  job_id: string;
  debited: Amount;
  refunded: Amount;
  /** Each refund's amount, in order (a JSON array). */
  refunds: ColumnType<number[], string, string>;
  version: number;
  updated_at: ColumnType<Date, string, string>;
}

export interface CreditsTables {
  credit_balances: CreditBalancesTable;
  credit_job_charges: CreditJobChargesTable;
}
