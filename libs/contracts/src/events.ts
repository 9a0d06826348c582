import { z } from 'zod';

/** Who caused an event and why; stored beside the data, never folded into state. */
export const eventMetadataSchema = z.object({
  orgId: z.string().optional(),
  actor: z.string().optional(),
  kind: z.string().optional(),
  correlationId: z.string().optional(),
  causationId: z.string().optional(),
});
export type EventMetadata = z.infer<typeof eventMetadataSchema>;

/** An event as a decider produces it: a fact not yet stored. */
export interface Event<Type extends string = string, Data extends object = Record<string, unknown>> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata?: EventMetadata;
}

/** An event as the log holds it. Versions start at 1; positions are global and increase. */
export type RecordedEvent<E extends Event = Event> = E & {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly globalPosition: number;
  /** The writing transaction's id (xid8, as a decimal string): subscriptions order by it first. */
  readonly transactionId: string;
  readonly metadata: EventMetadata;
  readonly createdAt: Date;
};

/** The stream a job's events live in: `job-<id>`. */
export const jobStreamId = (jobId: string): string => `job-${jobId}`;
export const JOB_STREAM_PREFIX = 'job-';

/** The category of a stream: the part before its first dash (`job`, `credits`). */
export const streamCategory = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
};

/** The id within a category: everything after the first dash. */
export const streamEntityId = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash === -1 ? '' : streamId.slice(dash + 1);
};

/**
 * What an append expects of its stream: any state, no stream yet, an existing stream, or exactly
 * this version (the number of events already in it).
 */
export type ExpectedVersion = 'any' | 'no_stream' | 'exists' | number;

/** The part of an event store a command handler needs; the store in libs/event-store satisfies it. */
export interface EventStreamPort {
  readStream(streamId: string): Promise<{ events: RecordedEvent[]; currentVersion: number }>;
  appendToStream(
    streamId: string,
    events: readonly Event[],
    options?: { expectedVersion?: ExpectedVersion; metadata?: EventMetadata },
  ): Promise<{ nextExpectedVersion: number }>;
}
