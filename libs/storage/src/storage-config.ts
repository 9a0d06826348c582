import type { Kysely } from 'kysely';
import { z } from 'zod';
import { PostgresBlobStore, type BlobStore } from './blob-store';
import { LocalFolderBlobStore } from './local-folder-blob-store';
import { S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store';

const driverSchema = z.object({ STORAGE_DRIVER: z.enum(['postgres', 'local', 's3']).default('postgres') });

const localSchema = z.object({ STORAGE_DIR: z.string().min(1).default('./data/blobs') });

const flag = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((value) => (value === undefined ? undefined : value === 'true' || value === '1'));

const s3Schema = z
  .object({
    S3_BUCKET: z.string().min(1),
    S3_REGION: z.string().min(1),
    S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    S3_FORCE_PATH_STYLE: flag,
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3_PREFIX: z.string().optional(),
  })
  .refine((env) => (env.S3_ACCESS_KEY_ID === undefined) === (env.S3_SECRET_ACCESS_KEY === undefined), {
    message: 'set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (the SDK then finds credentials itself)',
    path: ['S3_SECRET_ACCESS_KEY'],
  });

export type StorageConfig =
  | { driver: 'postgres' }
  | { driver: 'local'; dir: string }
  | { driver: 's3'; s3: S3BlobStoreOptions };

function parse<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  throw new Error(`invalid storage configuration: ${problems}`);
}

/** Reads and validates where blobs live; the default keeps them in the database. */
export function storageConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  const { STORAGE_DRIVER } = parse(driverSchema, env);
  switch (STORAGE_DRIVER) {
    case 'postgres':
      return { driver: 'postgres' };
    case 'local':
      return { driver: 'local', dir: parse(localSchema, env).STORAGE_DIR };
    case 's3': {
      const s3 = parse(s3Schema, env);
      return {
        driver: 's3',
        s3: {
          bucket: s3.S3_BUCKET,
          region: s3.S3_REGION,
          ...(s3.S3_ENDPOINT === undefined ? {} : { endpoint: s3.S3_ENDPOINT }),
          ...(s3.S3_FORCE_PATH_STYLE === undefined ? {} : { forcePathStyle: s3.S3_FORCE_PATH_STYLE }),
          ...(s3.S3_ACCESS_KEY_ID === undefined || s3.S3_SECRET_ACCESS_KEY === undefined
            ? {}
            : { credentials: { accessKeyId: s3.S3_ACCESS_KEY_ID, secretAccessKey: s3.S3_SECRET_ACCESS_KEY } }),
          ...(s3.S3_PREFIX === undefined ? {} : { prefix: s3.S3_PREFIX }),
        },
      };
    }
  }
}

/**
 * The blob store the environment asks for. `postgres` (default) shares blobs between the processes of a
 * distributed install through the database they already share; `local` only suits one machine.
 */
export function blobStoreFromConfig(env: NodeJS.ProcessEnv, db: Kysely<unknown>): BlobStore {
  const config = storageConfigFromEnv(env);
  switch (config.driver) {
    case 'postgres':
      return new PostgresBlobStore(db);
    case 'local':
      return new LocalFolderBlobStore(config.dir);
    case 's3':
      return new S3BlobStore(config.s3);
  }
}
