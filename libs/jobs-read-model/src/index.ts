export * from './jobs-projection';
export * from './migrations';
export type * from './schema';
export * from './job-queries';
export * from './job-reader';
export * from './job-cache';
