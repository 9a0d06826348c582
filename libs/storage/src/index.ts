export * from './blob-store';
export * from './local-folder-blob-store';
export * from './s3-blob-store';
export * from './storage-config';
export * from './signed-urls';
