import { randomBytes } from 'node:crypto';
import { domainFailure } from '@switchyard/contracts/testing';
import { S3BlobStore } from './s3-blob-store';
import { startS3TestServer, type S3TestServer } from './testing';

describe('S3BlobStore', () => {
  let server: S3TestServer;
  const opened: S3BlobStore[] = [];
  const open = (options: Partial<ConstructorParameters<typeof S3BlobStore>[0]> = {}): S3BlobStore => {
    const store = new S3BlobStore({ ...server.options, ...options });
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    server = await startS3TestServer();
  });
  afterAll(async () => {
    await Promise.all(opened.map((store) => store.close()));
    await server.close();
  });

  it('keeps each prefix apart: a store sees only its own folder of the bucket', async () => {
    const bytes = randomBytes(64);
    const key = await open({ prefix: 'tenant-a' }).put(bytes, 'image/jpeg');
    expect(await open({ prefix: 'tenant-a/' }).get(key)).toEqual({ bytes, contentType: 'image/jpeg' });
    expect(await open({ prefix: 'tenant-b' }).get(key)).toBeNull();
    expect(await open().get(key)).toBeNull();
  });

  it.each(['../sha256-x', `sha256-${'a'.repeat(64)}/../../other`, 'other-object'])('refuses the key %j', async (key) => {
    const blobs = open({ prefix: 'p' });
    expect((await domainFailure(blobs.get(key))).code).toBe('VALIDATION_FAILED');
    expect((await domainFailure(blobs.delete(key))).code).toBe('VALIDATION_FAILED');
  });

  it('throws for a missing bucket instead of answering "no such blob"', async () => {
    const blobs = open({ bucket: 'no-such-bucket' });
    await expect(blobs.get(`sha256-${'0'.repeat(64)}`)).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await expect(blobs.put(randomBytes(8), 'text/plain')).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  // s3rver checks the access key id but not SigV4 signatures, so only an unknown id can be tried here.
  it('throws when the server refuses the credentials', async () => {
    const blobs = open({ credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'S3RVER' } });
    await expect(blobs.get(`sha256-${'0'.repeat(64)}`)).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
  });
});
