import { DomainError, type PrintContentType } from '@switchyard/contracts';

/** Print's documents arrive as strict base64 (see contracts' decodeBase64). */
export { decodeBase64 as decodeBase64Document } from '@switchyard/contracts';

/**
 * Documents up to this size travel in the job's JobSubmitted itself: a label or a receipt costs no
 * blob write at submission and no blob read when it prints. Larger ones are stored as blobs.
 */
export const INLINE_DOCUMENT_MAX_BYTES = 4096;

export const isUrlContent = (contentType: PrintContentType): boolean => contentType.endsWith('_url');
export const isPdfContent = (contentType: PrintContentType): boolean => contentType.startsWith('pdf_');

/** A PDF starts with `%PDF-` (within its first KiB, as readers allow). */
export function checkDocument(contentType: PrintContentType, bytes: Buffer): void {
  if (bytes.length === 0) throw new DomainError('INVALID_CONTENT', 'the document is empty');
  if (isPdfContent(contentType) && !bytes.subarray(0, 1024).includes('%PDF-')) {
    throw new DomainError('INVALID_CONTENT', 'the document is not a PDF (no %PDF- header)');
  }
}

/** The IPP document-format for a content type. */
export const documentFormatFor = (contentType: PrintContentType): string =>
  isPdfContent(contentType) ? 'application/pdf' : 'application/octet-stream';
