import { DomainError } from './errors';

// Standard base64, padded, white space allowed between groups (as many encoders wrap lines).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes `content`, refusing what is not strictly base64 (Buffer.from would skip bad characters). */
export function decodeBase64(content: string): Buffer {
  const compact = content.replace(/\s+/g, '');
  if (!BASE64.test(compact)) throw new DomainError('INVALID_CONTENT', 'content is not valid base64');
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length === 0) throw new DomainError('INVALID_CONTENT', 'content decodes to nothing');
  return bytes;
}
