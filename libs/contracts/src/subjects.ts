import { streamCategory, streamEntityId } from './events';

/** The JetStream stream that holds every published event. */
export const EVENTS_STREAM = 'SWITCHYARD_EVENTS';
export const EVENT_SUBJECT_ROOT = 'evt';

// NATS subject tokens may not contain '.', '*', '>' or white space.
const token = (value: string): string => value.replace(/[.*>\s]/g, '_') || '_';

/**
 * `evt.<kind>.<jobId>.<Type>` for a job's events, `evt.<category>.<id>.<Type>` for any other stream
 * (credits: `evt.credits.<orgId>.CreditsGranted`).
 */
export const eventSubject = (
  streamId: string,
  type: string,
  kind?: string,
  root: string = EVENT_SUBJECT_ROOT,
): string => {
  const category = streamCategory(streamId);
  const group = category === 'job' ? (kind ?? 'job') : category;
  return [root, token(group), token(streamEntityId(streamId)), token(type)].join('.');
};

/** Every event of one kind: `evt.print.>`. */
export const kindEventsFilter = (kind: string, root: string = EVENT_SUBJECT_ROOT): string =>
  `${root}.${token(kind)}.>`;

export const COMMAND_SUBJECT_ROOT = 'cmd';

/**
 * Commands go gateway -> owning service as request/reply: `cmd.<kind>.<command>`. Installations
 * sharing one NATS each take their own root, so one's gateway never reaches another's services.
 */
export const commandSubject = (kind: string, command: string, root: string = COMMAND_SUBJECT_ROOT): string =>
  `${root}.${token(kind)}.${token(command)}`;

/** Each service's replicas share one queue group, so a command is handled once. */
export const serviceQueueGroup = (kind: string): string => `svc-${token(kind)}`;
