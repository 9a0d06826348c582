import type { EventStoreSession } from '@switchyard/event-store';
import type { AdRenderRequest } from '@switchyard/image/render';

export type { AdRenderRequest };

/** Renders ads off the event loop (libs/image/render's AdRenderPool). */
export interface AdRenderer {
  render(request: AdRenderRequest): Promise<Buffer>;
}

/** The credit ledger's writes, inside a caller's transaction (libs/credits' CreditsLedger). */
export interface CreditsPort {
  debit(session: EventStoreSession, orgId: string, jobId: string, amount: number): Promise<void>;
  refund(session: EventStoreSession, orgId: string, jobId: string, amount: number, reason?: string): Promise<void>;
}

/** Re-runs a transaction that lost a race on a stream's version (libs/credits' retryOnVersionConflict). */
export type RetryOnConflict = <T>(work: () => Promise<T>) => Promise<T>;

export type PhotoFetcher = (url: string) => Promise<Buffer>;
