import { checkDocument, decodeBase64Document, documentFormatFor } from './document';

describe('print documents', () => {
  it('decodes strict base64, with line breaks allowed', () => {
    expect(decodeBase64Document('XlhBXkZPNTAuNTBeQTBOLDUwLDUwXkZESGVsbG8gV29ybGReRlNeWFo=').toString()).toBe(
      '^XA^FO50.50^A0N,50,50^FDHello World^FS^XZ',
    );
    expect(decodeBase64Document('aGVs\nbG8=').toString()).toBe('hello');
  });

  it.each([['not base64!'], ['abc'], ['a==='], ['====']])('refuses %j with INVALID_CONTENT', (content) => {
    expect(() => decodeBase64Document(content)).toThrow(expect.objectContaining({ code: 'INVALID_CONTENT' }));
  });

  it('refuses content that decodes to nothing', () => {
    expect(() => decodeBase64Document('   ')).toThrow(expect.objectContaining({ code: 'INVALID_CONTENT' }));
  });

  it('wants a PDF header for pdf content and accepts any bytes as raw', () => {
    expect(() => checkDocument('pdf_base64', Buffer.from('%PDF-1.4\n...'))).not.toThrow();
    expect(() => checkDocument('pdf_base64', Buffer.from('hello'))).toThrow(expect.objectContaining({ code: 'INVALID_CONTENT' }));
    expect(() => checkDocument('raw_base64', Buffer.from('^XA^XZ'))).not.toThrow();
    expect(documentFormatFor('pdf_url')).toBe('application/pdf');
    expect(documentFormatFor('raw_base64')).toBe('application/octet-stream');
  });
});
