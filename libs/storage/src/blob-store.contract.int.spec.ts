import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, TEST_BACKENDS } from '@switchyard/event-store/testing';
import { blobKey, PostgresBlobStore, storageMigrations, type BlobStore } from './blob-store';
import { LocalFolderBlobStore } from './local-folder-blob-store';
import { S3BlobStore } from './s3-blob-store';
import { startS3TestServer } from './testing';

interface StoreUnderTest {
  store: BlobStore;
  dispose(): Promise<void>;
}

const stores: [string, () => Promise<StoreUnderTest>][] = [
  ...TEST_BACKENDS.map((backend): [string, () => Promise<StoreUnderTest>] => [
    `PostgresBlobStore on ${backend}`,
    async () => {
      const database = await createTestDatabase(backend, 'blob_contract', storageMigrations);
      return { store: new PostgresBlobStore(database.db), dispose: () => database.dispose() };
    },
  ]),
  [
    'LocalFolderBlobStore',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'switchyard-blobs-'));
      return { store: new LocalFolderBlobStore(dir), dispose: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'S3BlobStore',
    async () => {
      const server = await startS3TestServer();
      const store = new S3BlobStore({ ...server.options, prefix: 'contract' });
      return {
        store,
        async dispose() {
          await store.close();
          await server.close();
        },
      };
    },
  ],
];

describe.each(stores)('blob store contract: %s', (_name, open) => {
  let subject: StoreUnderTest;
  let blobs: BlobStore;

  beforeAll(async () => {
    subject = await open();
    blobs = subject.store;
  });
  afterAll(() => subject.dispose());

  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['64 KiB', 64 * 1024],
    ['1 MiB', 1024 * 1024],
  ])('gives back %s of random bytes exactly, under their content hash', async (_size, length) => {
    const bytes = randomBytes(length);
    const key = await blobs.put(bytes, 'application/pdf');
    expect(key).toBe(blobKey(bytes));
    const blob = await blobs.get(key);
    expect(blob?.contentType).toBe('application/pdf');
    expect(blob?.bytes.length).toBe(length);
    expect(blob?.bytes.equals(bytes)).toBe(true);
  });

  it('stores the same bytes once, under one key, keeping the first content type', async () => {
    const bytes = randomBytes(4096);
    const first = await blobs.put(bytes, 'image/png');
    const second = await blobs.put(Buffer.from(bytes), 'application/octet-stream');
    expect(second).toBe(first);
    expect(await blobs.get(first)).toEqual({ bytes, contentType: 'image/png' });
  });

  it('answers null for a key it never stored', async () => {
    expect(await blobs.get(blobKey(randomBytes(32)))).toBeNull();
  });

  it('forgets a deleted blob, and deleting again is harmless', async () => {
    const kept = await blobs.put(randomBytes(100), 'text/plain');
    const deleted = await blobs.put(randomBytes(100), 'text/plain');
    await blobs.delete(deleted);
    expect(await blobs.get(deleted)).toBeNull();
    await expect(blobs.delete(deleted)).resolves.toBeUndefined();
    expect(await blobs.get(kept)).not.toBeNull();
  });

  it('stores again what was deleted', async () => {
    const bytes = randomBytes(100);
    const key = await blobs.put(bytes, 'text/plain');
    await blobs.delete(key);
    expect(await blobs.put(bytes, 'text/csv')).toBe(key);
    expect(await blobs.get(key)).toEqual({ bytes, contentType: 'text/csv' });
  });
});
