export * from './database';
export * from './errors';
export * from './retry-on-version-conflict';
export * from './event-store';
export * from './group-commit';
export * from './rows';
export * from './migrations';
export type * from './schema';
export * from './types';
