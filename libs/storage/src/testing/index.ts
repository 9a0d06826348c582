import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3BlobStoreOptions } from '../s3-blob-store';

export interface S3TestServer {
  /** Options that reach the server's one bucket, ready for `new S3BlobStore(...)`. */
  readonly options: S3BlobStoreOptions;
  close(): Promise<void>;
}

/**
 * An S3-compatible server (s3rver) in this process, standing in for S3 in tests: 127.0.0.1, a port the
 * system picks, objects in a temporary folder removed on close. It knows only the access key id below
 * (and does not check SigV4 signatures themselves).
 */
export async function startS3TestServer(bucket = 'switchyard-blobs'): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'switchyard-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  return {
    options: {
      bucket,
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
