import { createHash } from 'node:crypto';
import { sql, type Kysely, type Migration, type QueryExecutorProvider } from 'kysely';
import { DomainError } from '@switchyard/contracts';

export interface Blob {
  bytes: Buffer;
  contentType: string;
}

/** Where documents and outputs live; `tx` lets a write commit with the job that refers to it. */
export interface BlobStore {
  put(bytes: Buffer, contentType: string, tx?: QueryExecutorProvider): Promise<string>;
  get(key: string): Promise<Blob | null>;
  delete(key: string): Promise<void>;
  /** Releases connections the store opened itself (an S3 client); the caller owns a database it passed in. */
  close?(): Promise<void>;
}

export const storageMigrations: Record<string, Migration> = {
  '0500_blobs': {
    async up(db) {
      await sql`
        CREATE TABLE blobs (
          key text PRIMARY KEY,
          content_type text NOT NULL,
          size integer NOT NULL,
          bytes bytea NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);
    },
  },
};

/** The key of some bytes is their SHA-256: storing the same document twice stores it once. */
export const blobKey = (bytes: Buffer): string => `sha256-${createHash('sha256').update(bytes).digest('hex')}`;

const BLOB_KEY = /^sha256-[0-9a-f]{64}$/;

export const isBlobKey = (key: string): boolean => BLOB_KEY.test(key);

/** Stores that turn a key into a file name or an object name take only what `blobKey` makes: no `/`, no `..`. */
export function assertBlobKey(key: string): void {
  if (!isBlobKey(key)) throw new DomainError('VALIDATION_FAILED', 'not a blob key (sha256-<64 hex digits>)', { key: key.slice(0, 80) });
}

/**
 * Blobs in the database itself: every process of a distributed install reaches them without a
 * shared disk, and a document commits in the same transaction as the job that refers to it.
 */
export class PostgresBlobStore implements BlobStore {
  constructor(private readonly db: Kysely<unknown>) {}

  async put(bytes: Buffer, contentType: string, tx?: QueryExecutorProvider): Promise<string> {
    const key = blobKey(bytes);
    await sql`INSERT INTO blobs (key, content_type, size, bytes) VALUES (${key}, ${contentType}, ${bytes.length}, ${bytes})
      ON CONFLICT (key) DO NOTHING`.execute(tx ?? this.db);
    return key;
  }

  async get(key: string): Promise<Blob | null> {
    const { rows } = await sql<{ bytes: Uint8Array; content_type: string }>`
      SELECT bytes, content_type FROM blobs WHERE key = ${key}`.execute(this.db);
    const row = rows[0];
    return row ? { bytes: Buffer.from(row.bytes), contentType: row.content_type } : null;
  }

  async delete(key: string): Promise<void> {
    await sql`DELETE FROM blobs WHERE key = ${key}`.execute(this.db);
  }
}
