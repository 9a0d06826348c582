import { sql, type Kysely } from 'kysely';
import { openDatabase } from './database';
import { appendGroupStatement } from './event-store';
import { eventStoreMigrations, migrateToLatest } from './migrations';
import { beforeAndAfterAnalyze, explainPlan } from './testing';

describe('a group append, among 2,000 streams', () => {
  let db: Kysely<unknown>;

  beforeAll(async () => {
    db = await openDatabase<unknown>({ driver: 'pglite' });
    await migrateToLatest(db, eventStoreMigrations);
    await sql`INSERT INTO streams (stream_id, version) SELECT 'job-' || g, 1 FROM generate_series(1, 2000) AS g`.execute(db);
  });
  afterAll(() => db.destroy());

  // Twelve jobs' next event, as a group of the print worker's StartDelivery appends would be.
  const explainGroup = async (): Promise<string> => {
    const streams = Array.from({ length: 12 }, (_, i) => `job-${1 + i * 150}`);
    const requests = streams.map((stream_id) => ({ stream_id, expected: 1, n: 1 }));
    const events = streams.map((streamId) => ({ streamId, ord: 1, n: 1, eventId: crypto.randomUUID(), type: 'JobStarted', data: {}, metadata: {} }));
    return explainPlan(db, appendGroupStatement(JSON.stringify(requests), JSON.stringify(events), []).compile(db));
  };

  it('finds its streams by the primary key, with statistics or without', async () => {
    for (const plan of await beforeAndAfterAnalyze(db, 'streams', explainGroup)) {
      expect(plan).toMatch(/Index Scan on streams_pkey|Index Scan using streams_pkey/);
      expect(plan).not.toMatch(/Seq Scan on streams/);
    }
  });
});
