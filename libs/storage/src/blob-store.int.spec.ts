import { randomBytes } from 'node:crypto';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '@switchyard/event-store/testing';
import { blobKey, PostgresBlobStore, storageMigrations } from './blob-store';

describe.each(TEST_BACKENDS)('blob store on %s', (backend) => {
  let database: TestDatabase;
  let blobs: PostgresBlobStore;

  beforeAll(async () => {
    database = await createTestDatabase(backend, 'blobs', storageMigrations);
    blobs = new PostgresBlobStore(database.db);
  });
  afterAll(() => database.dispose());

  it('keeps bytes exactly, under their content hash, once', async () => {
    const bytes = randomBytes(256 * 1024);
    const key = await blobs.put(bytes, 'application/pdf');
    expect(key).toBe(blobKey(bytes));
    expect(await blobs.put(bytes, 'application/pdf')).toBe(key);
    const blob = await blobs.get(key);
    expect(blob?.contentType).toBe('application/pdf');
    expect(blob?.bytes.equals(bytes)).toBe(true);
  });

  it('writes inside a caller transaction and rolls back with it', async () => {
    const bytes = randomBytes(64);
    await expect(
      database.db.transaction().execute(async (tx) => {
        await blobs.put(bytes, 'application/octet-stream', tx);
        throw new Error('the job append failed');
      }),
    ).rejects.toThrow('the job append failed');
    expect(await blobs.get(blobKey(bytes))).toBeNull();
  });

  it('answers null for an unknown key and forgets a deleted one', async () => {
    expect(await blobs.get('sha256-none')).toBeNull();
    const key = await blobs.put(Buffer.from('x'), 'text/plain');
    await blobs.delete(key);
    expect(await blobs.get(key)).toBeNull();
  });
});
