import { checkDocumentUrl, fetchDocument, printerFor } from '@switchyard/print/adapters';
import type { PrintConfig } from './print-service';
import type { DocumentFetcher, PrinterFactory } from './printer-port';

/** The real printers and the URL policy, configured: what both run modes hand the print service. */
export function printerPortsFor(config: PrintConfig): {
  printerFor: PrinterFactory;
  fetchDocument: DocumentFetcher;
  checkUrl: (url: string) => Promise<void>;
} {
  const policy = { allowPrivateNetworks: config.PRINT_ALLOW_PRIVATE_URLS, allowAddresses: config.PRINT_ALLOWED_URL_RANGES };
  return {
    printerFor: (uri) => printerFor(uri, { timeoutMs: config.PRINT_PRINTER_TIMEOUT_MS }),
    fetchDocument: (url) =>
      fetchDocument(url, { ...policy, maxBytes: config.PRINT_MAX_DOCUMENT_BYTES, timeoutMs: config.PRINT_URL_TIMEOUT_MS }),
    checkUrl: (url) => checkDocumentUrl(url, policy),
  };
}
