import type { PrinterConnection } from '@switchyard/print/adapters';

/** The connection for a registered printer's URI (IPP or raw socket). */
export type PrinterFactory = (uri: string) => PrinterConnection;

export type DocumentFetcher = (url: string) => Promise<{ bytes: Buffer; contentType?: string }>;
