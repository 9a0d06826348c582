import type { Kysely } from 'kysely';
import { PostgresBlobStore } from './blob-store';
import { LocalFolderBlobStore } from './local-folder-blob-store';
import { S3BlobStore } from './s3-blob-store';
import { blobStoreFromConfig, storageConfigFromEnv } from './storage-config';

const s3Env = { STORAGE_DRIVER: 's3', S3_BUCKET: 'blobs', S3_REGION: 'eu-central-1' };

describe('storageConfigFromEnv', () => {
  it('keeps blobs in the database by default', () => {
    expect(storageConfigFromEnv({})).toEqual({ driver: 'postgres' });
  });

  it('puts local blobs under ./data/blobs unless STORAGE_DIR says otherwise', () => {
    expect(storageConfigFromEnv({ STORAGE_DRIVER: 'local' })).toEqual({ driver: 'local', dir: './data/blobs' });
    expect(storageConfigFromEnv({ STORAGE_DRIVER: 'local', STORAGE_DIR: '/var/lib/switchyard' })).toEqual({
      driver: 'local',
      dir: '/var/lib/switchyard',
    });
  });

  it('reads every S3 setting', () => {
    expect(
      storageConfigFromEnv({
        ...s3Env,
        S3_ENDPOINT: 'http://minio:9000',
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: 'id',
        S3_SECRET_ACCESS_KEY: 'secret',
        S3_PREFIX: 'switchyard/',
      }),
    ).toEqual({
      driver: 's3',
      s3: {
        bucket: 'blobs',
        region: 'eu-central-1',
        endpoint: 'http://minio:9000',
        forcePathStyle: true,
        credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
        prefix: 'switchyard/',
      },
    });
  });

  it('leaves S3 credentials, endpoint and addressing to the SDK when unset', () => {
    expect(storageConfigFromEnv({ ...s3Env, S3_FORCE_PATH_STYLE: '0' })).toEqual({
      driver: 's3',
      s3: { bucket: 'blobs', region: 'eu-central-1', forcePathStyle: false },
    });
  });

  it.each([
    [{ STORAGE_DRIVER: 'disk' }, 'STORAGE_DRIVER'],
    [{ STORAGE_DRIVER: 'local', STORAGE_DIR: '' }, 'STORAGE_DIR'],
    [{ STORAGE_DRIVER: 's3', S3_REGION: 'eu-central-1' }, 'S3_BUCKET'],
    [{ STORAGE_DRIVER: 's3', S3_BUCKET: 'blobs' }, 'S3_REGION'],
    [{ ...s3Env, S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT'],
    [{ ...s3Env, S3_ENDPOINT: 'ftp://minio' }, 'S3_ENDPOINT'],
    [{ ...s3Env, S3_FORCE_PATH_STYLE: 'yes' }, 'S3_FORCE_PATH_STYLE'],
    [{ ...s3Env, S3_ACCESS_KEY_ID: 'id' }, 'S3_SECRET_ACCESS_KEY'],
    [{ ...s3Env, S3_SECRET_ACCESS_KEY: 'secret' }, 'S3_SECRET_ACCESS_KEY'],
  ])('refuses %j, naming %s', (env, name) => {
    expect(() => storageConfigFromEnv(env)).toThrow(new RegExp(`invalid storage configuration: .*${name}`));
  });
});

describe('blobStoreFromConfig', () => {
  const db = {} as Kysely<unknown>;

  it.each([
    [{}, PostgresBlobStore],
    [{ STORAGE_DRIVER: 'postgres' }, PostgresBlobStore],
    [{ STORAGE_DRIVER: 'local' }, LocalFolderBlobStore],
    [s3Env, S3BlobStore],
  ])('opens for %j the store it names', async (env, kind) => {
    const store = blobStoreFromConfig(env, db);
    expect(store).toBeInstanceOf(kind);
    await store.close?.();
  });
});
