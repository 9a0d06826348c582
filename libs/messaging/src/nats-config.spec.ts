import { EVENTS_STREAM } from '@switchyard/contracts';
import { natsConfigFromEnv } from './nats-config';

describe('natsConfigFromEnv', () => {
  it('defaults to a local server, the contracts stream and a two-hour dedupe window', () => {
    expect(natsConfigFromEnv({})).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      eventsStream: EVENTS_STREAM,
      subjectRoot: 'evt',
      commandRoot: 'cmd',
      dedupeWindowMs: 2 * 60 * 60 * 1000,
      requestTimeoutMs: 5_000,
      connectionName: expect.stringMatching(/^switchyard-/),
    });
  });

  it('reads a comma-separated server list and numbers from strings', () => {
    const config = natsConfigFromEnv({
      NATS_URL: 'nats://a:4222, nats://b:4222,c:4223',
      NATS_EVENTS_STREAM: 'T_EVENTS',
      NATS_SUBJECT_ROOT: 't_root',
      NATS_COMMAND_ROOT: 't_cmd',
      NATS_DEDUPE_WINDOW_MS: '60000',
      NATS_REQUEST_TIMEOUT_MS: '250',
      NATS_CONNECTION_NAME: 'print-service',
    });
    expect(config).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222', 'c:4223'],
      eventsStream: 'T_EVENTS',
      subjectRoot: 't_root',
      commandRoot: 't_cmd',
      dedupeWindowMs: 60_000,
      requestTimeoutMs: 250,
      connectionName: 'print-service',
    });
  });

  it.each([
    ['NATS_URL', ''],
    ['NATS_URL', 'http://x:4222'],
    ['NATS_EVENTS_STREAM', 'EVENTS.ALL'],
    ['NATS_SUBJECT_ROOT', 'evt.sub'],
    ['NATS_SUBJECT_ROOT', 'evt>'],
    ['NATS_COMMAND_ROOT', 'cmd.a'],
    ['NATS_DEDUPE_WINDOW_MS', '0'],
    ['NATS_DEDUPE_WINDOW_MS', 'two hours'],
    ['NATS_REQUEST_TIMEOUT_MS', '-1'],
  ])('refuses %s=%j at start, naming the variable', (name, value) => {
    expect(() => natsConfigFromEnv({ [name]: value })).toThrow(new RegExp(`invalid NATS configuration: ${name}`));
  });
});
