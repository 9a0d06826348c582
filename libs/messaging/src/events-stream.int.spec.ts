import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { ensureEventsStream } from './events-stream';
import { connectNats, natsConfigFromEnv } from './nats-config';
import { testNatsUrl, uniqueTestName } from './testing';

describe('ensureEventsStream', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const created: string[] = [];

  beforeAll(async () => {
    nc = await connectNats({ ...natsConfigFromEnv({ NATS_URL: testNatsUrl() }), connectionName: 'events-stream-test' });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await Promise.all(created.map((name) => jsm.streams.delete(name).catch(() => false)));
    await nc.close();
  });

  it('creates the stream on <root>.> with the dedupe window in nanoseconds, then leaves it alone', async () => {
    const name = uniqueTestName();
    created.push(name);
    const info = await ensureEventsStream(jsm, { name, subjectRoot: name, dedupeWindowMs: 90_000 });
    expect(info.config).toMatchObject({ subjects: [`${name}.>`], duplicate_window: 90_000 * 1_000_000, storage: 'file' });
    const again = await ensureEventsStream(jsm, { name, subjectRoot: name, dedupeWindowMs: 90_000 });
    expect(again.created).toEqual(info.created);
  });

  it('updates subjects and dedupe window of an existing stream, and refuses a storage change', async () => {
    const name = uniqueTestName();
    created.push(name);
    await ensureEventsStream(jsm, { name, subjectRoot: name, dedupeWindowMs: 60_000 });
    const updated = await ensureEventsStream(jsm, { name, subjectRoot: `${name}_v2`, dedupeWindowMs: 120_000 });
    expect(updated.config).toMatchObject({ subjects: [`${name}_v2.>`], duplicate_window: 120_000 * 1_000_000 });
    await expect(
      ensureEventsStream(jsm, { name, subjectRoot: name, dedupeWindowMs: 60_000, storage: 'memory' }),
    ).rejects.toThrow(/file storage, configured memory/);
  });
});
