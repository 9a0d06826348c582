export * from './printer-uri';
export * from './ipp-printer';
export * from './raw-socket-printer';
export * from './printer-connection';
// URL fetching moved to @switchyard/safe-fetch (image jobs fetch photos the same way).
export { checkDocumentUrl, fetchDocument, type FetchDocumentOptions, type FetchedDocument } from '@switchyard/safe-fetch';
