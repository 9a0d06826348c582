import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { assertBlobKey, blobKey, type Blob, type BlobStore } from './blob-store';

export interface S3BlobStoreOptions {
  bucket: string;
  region: string;
  /** An S3-compatible service (MinIO, R2, Ceph…); absent for AWS itself. */
  endpoint?: string;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key`; most S3-compatible services want it. */
  forcePathStyle?: boolean;
  /** Absent: the SDK's own chain (AWS_* variables, shared config, instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A folder inside the bucket, so the bucket can be shared; a trailing `/` is added if missing. */
  prefix?: string;
}

// A missing object is 404 NoSuchKey (GET) or 404 NotFound (HEAD, which has no body to name it). A missing
// bucket is also 404 but NoSuchBucket: a configuration error, thrown. Without s3:ListBucket, S3 answers
// 403 for a missing object, which is thrown too: grant it.
const isMissingObject = (error: unknown): boolean =>
  error instanceof S3ServiceException && (error.name === 'NoSuchKey' || (error.name === 'NotFound' && error.$metadata.httpStatusCode === 404));

/** Blobs as objects in an S3 bucket: shared by every process of a distributed install, kept outside the database. */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix);
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    });
  }

  async put(bytes: Buffer, contentType: string): Promise<string> {
    const key = blobKey(bytes);
    // Same bytes, same key: the first write stands (as in PostgresBlobStore), and a duplicate is not uploaded again.
    if (await this.has(key)) return key;
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.objectName(key), Body: bytes, ContentType: contentType, ContentLength: bytes.length }),
    );
    return key;
  }

  async get(key: string): Promise<Blob | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectName(key) }));
      const bytes = object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
      return {
        bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        contentType: object.ContentType ?? 'application/octet-stream',
      };
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectName(key) }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async has(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectName(key) }));
      return true;
    } catch (error) {
      if (isMissingObject(error)) return false;
      throw error;
    }
  }

  /** Only keys `blobKey` makes: a key can name nothing outside the prefix. */
  private objectName(key: string): string {
    assertBlobKey(key);
    return `${this.prefix}${key}`;
  }
}

function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}
