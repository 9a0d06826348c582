import {
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';

export interface EventsStreamOptions {
  name: string;
  /** The stream takes every subject under `<subjectRoot>.>`. */
  subjectRoot: string;
  /** How long a msgID is remembered, so a replayed publish is dropped (see NATS_DEDUPE_WINDOW_MS). */
  dedupeWindowMs: number;
  storage?: 'file' | 'memory';
  replicas?: number;
}

export const isStreamNotFound = (error: unknown): boolean =>
  error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;

/**
 * Creates the stream that holds every published event, or brings an existing one to these subjects
 * and dedupe window. Storage cannot change once created: that is reported, not silently ignored.
 */
export async function ensureEventsStream(jsm: JetStreamManager, options: EventsStreamOptions): Promise<StreamInfo> {
  const subjects = [`${options.subjectRoot}.>`];
  const duplicateWindow = nanos(options.dedupeWindowMs);
  const storage = options.storage === 'memory' ? StorageType.Memory : StorageType.File;

  let existing: StreamInfo;
  try {
    existing = await jsm.streams.info(options.name);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    return jsm.streams.add({
      name: options.name,
      subjects,
      duplicate_window: duplicateWindow,
      storage,
      retention: RetentionPolicy.Limits,
      num_replicas: options.replicas ?? 1,
      // Lets a reader fetch a message by sequence without creating a consumer.
      allow_direct: true,
    });
  }

  const config = existing.config;
  if (config.storage !== storage) {
    throw new Error(`stream ${options.name} uses ${config.storage} storage, configured ${storage}: recreate it to change`);
  }
  const sameSubjects = config.subjects?.length === subjects.length && subjects.every((s) => config.subjects?.includes(s));
  if (sameSubjects && config.duplicate_window === duplicateWindow) return existing;
  return jsm.streams.update(options.name, { ...config, subjects, duplicate_window: duplicateWindow });
}
