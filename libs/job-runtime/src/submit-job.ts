import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import {
  DomainError,
  isDomainError,
  jobStreamId,
  type Event,
  type EventMetadata,
  type EventStreamPort,
  type JobCommand,
} from '@switchyard/contracts';
import type { EventStore, EventStoreSession } from '@switchyard/event-store';
import { handleCommand, type Decider } from '@switchyard/jobs';

export interface SubmitJobOptions<Command, E extends Event, State> {
  store: EventStore;
  decider: Decider<Command | JobCommand, E, State>;
  orgId: string;
  /** A fresh job id; called again if one is already taken. */
  newJobId: () => string;
  /** The SubmitJob command for an id. */
  submitCommand: (jobId: string) => Extract<JobCommand, { type: 'SubmitJob' }>;
  metadata: EventMetadata;
  idempotencyKey?: string;
  /** What makes two requests the same request (the body as the client sent it). */
  requestFingerprint?: unknown;
  /** Writes that must commit with the submission (the document's bytes). */
  beforeSubmit?: (session: EventStoreSession) => Promise<void>;
  /** Writes that must commit with the submission and need its id (the credits it costs). */
  afterSubmit?: (session: EventStoreSession, jobId: string) => Promise<void>;
}

export type SubmittedJob<State = unknown> =
  /** Created by this request: the state its submission decided, at its stream's version. */
  | { jobId: string; created: true; state: State; version: number }
  /** An earlier request with the same idempotency key created it; it may have moved on since. */
  | { jobId: string; created: false };

const MAX_ID_ATTEMPTS = 5;

const fingerprint = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value ?? null)).digest('hex');

async function existingJobFor(
  session: EventStoreSession,
  orgId: string,
  key: string,
  requestHash: string,
): Promise<string | undefined> {
  const { rows } = await sql<{ job_id: string; request_hash: string }>`
    SELECT job_id, request_hash FROM idempotency_keys WHERE org_id = ${orgId} AND key = ${key}`.execute(session.tx);
  const row = rows[0];
  if (row && row.request_hash !== requestHash) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request', { key });
  }
  return row?.job_id;
}

/**
 * Submits a job with its idempotency key and whatever must commit with it, in one transaction; a
 * job with neither is its first append alone, which the store may write together with others. A
 * retry with the same key returns the job the first request created and creates nothing.
 */
export async function submitJob<Command, E extends Event, State>(
  options: SubmitJobOptions<Command, E, State>,
): Promise<SubmittedJob<State>> {
  const { store, orgId, idempotencyKey } = options;
  if (idempotencyKey === undefined && !options.beforeSubmit && !options.afterSubmit) {
    return { created: true, ...(await appendSubmission(store, options)) };
  }
  const requestHash = fingerprint(options.requestFingerprint);
  return store.transaction<SubmittedJob<State>>(async (session) => {
    if (idempotencyKey !== undefined) {
      const existing = await existingJobFor(session, orgId, idempotencyKey, requestHash);
      if (existing) return { jobId: existing, created: false };
    }
    await options.beforeSubmit?.(session);
    const submitted = await appendSubmission(session, options);
    await options.afterSubmit?.(session, submitted.jobId);
    if (idempotencyKey !== undefined) {
      // A concurrent request with the same key waits here for ours to commit, then finds it.
      const { rows } = await sql<{ job_id: string }>`
        INSERT INTO idempotency_keys (org_id, key, job_id, request_hash)
        VALUES (${orgId}, ${idempotencyKey}, ${submitted.jobId}, ${requestHash})
        ON CONFLICT (org_id, key) DO NOTHING RETURNING job_id`.execute(session.tx);
      if (rows.length === 0) throw new IdempotentReplay();
    }
    return { created: true, ...submitted };
  }).catch(async (error: unknown) => {
    // Another request with the same key committed first: ours rolled back; answer with its job.
    if (!(error instanceof IdempotentReplay) || idempotencyKey === undefined) throw error;
    return store.transaction<SubmittedJob<State>>(async (session) => {
      const existing = await existingJobFor(session, orgId, idempotencyKey, requestHash);
      if (!existing) throw new DomainError('INTERNAL', 'idempotency key vanished');
      return { jobId: existing, created: false };
    });
  });
}

/**
 * Appends a job's first events under a fresh id. A fresh id's stream is empty, so the command is
 * decided on the initial state without reading it; a taken id fails the append (it expects no
 * stream), and another id is drawn.
 */
async function appendSubmission<Command, E extends Event, State>(
  port: EventStreamPort,
  options: SubmitJobOptions<Command, E, State>,
): Promise<{ jobId: string; state: State; version: number }> {
  for (let attempt = 1; ; attempt++) {
    const jobId = options.newJobId();
    try {
      const submitted = await handleCommand(port, jobStreamId(jobId), options.submitCommand(jobId), options.decider, {
        metadata: options.metadata,
        maxAttempts: 1,
        known: { state: options.decider.initialState(), version: 0 },
      });
      return { jobId, state: submitted.newState, version: submitted.nextExpectedVersion };
    } catch (error) {
      const taken = isDomainError(error, 'JOB_ALREADY_EXISTS') || isDomainError(error, 'VERSION_CONFLICT');
      if (!taken || attempt >= MAX_ID_ATTEMPTS) throw error;
    }
  }
}

class IdempotentReplay extends Error {}
