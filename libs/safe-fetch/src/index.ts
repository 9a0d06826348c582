export * from './document-fetcher';
export * from './network-errors';
