import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DomainError } from '@switchyard/contracts';
import { domainFailure } from '@switchyard/contracts/testing';
import { checkDocumentUrl, fetchDocument, type FetchDocumentOptions } from './document-fetcher';

jest.setTimeout(15_000);

const failure = domainFailure;

// Every client socket Node creates is announced here: a refusal "before connecting" must announce none.
let socketsOpened = 0;
const countSocket = (): void => {
  socketsOpened++;
};
beforeAll(() => diagnostics.subscribe('net.client.socket', countSocket));
afterAll(() => diagnostics.unsubscribe('net.client.socket', countSocket));

async function socketsDuring(work: () => Promise<unknown>): Promise<number> {
  const before = socketsOpened;
  await work();
  return socketsOpened - before;
}

interface TestServer {
  base: string;
  requests: () => number;
  close(): Promise<void>;
}

async function startServer(host: string, handler: http.RequestListener): Promise<TestServer> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://${host}:${port}`,
    requests: () => requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const PDF = Buffer.from('%PDF-1.4\n% a tiny document\n%%EOF\n');

const routes: http.RequestListener = (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const redirect = /^\/redirect\/(\d+)$/.exec(url.pathname);
  if (url.pathname === '/doc.pdf' || url.pathname === '/redirect/0') {
    res.writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': PDF.length }).end(PDF);
  } else if (url.pathname === '/big-declared') {
    res.writeHead(200, { 'Content-Length': 5000 }); // headers only: the body never comes
    res.flushHeaders();
  } else if (url.pathname === '/big-stream') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' }); // chunked, no length
    const chunk = Buffer.alloc(1000, 0x41);
    for (let i = 0; i < 5; i++) res.write(chunk);
    // never ends: the limit must stop us, not the end of the body
  } else if (url.pathname === '/hang') {
    // accept and never answer
  } else if (url.pathname === '/stall-body') {
    res.writeHead(200, { 'Content-Length': 100 });
    res.write(Buffer.alloc(10));
  } else if (redirect) {
    // /redirect/<n>: n more redirects, then the document
    res.writeHead(302, { Location: `/redirect/${Number(redirect[1]) - 1}` }).end();
  } else if (url.pathname === '/to') {
    res.writeHead(307, { Location: url.searchParams.get('url') ?? '/' }).end();
  } else {
    res.writeHead(404).end('not here');
  }
};

describe('fetchDocument from a local server (allowPrivateNetworks: true)', () => {
  let server: TestServer;
  const options: FetchDocumentOptions = { maxBytes: 2000, timeoutMs: 2000, allowPrivateNetworks: true };
  beforeAll(async () => {
    server = await startServer('127.0.0.1', routes);
  });
  afterAll(() => server.close());

  it('fetches the bytes and the content type', async () => {
    await expect(fetchDocument(`${server.base}/doc.pdf`, options)).resolves.toEqual({
      bytes: PDF,
      contentType: 'application/pdf',
      url: `${server.base}/doc.pdf`,
    });
  });

  it('refuses a body whose Content-Length is too large, without waiting for it', async () => {
    const started = Date.now();
    const error = await failure(fetchDocument(`${server.base}/big-declared`, options));
    expect(error.code).toBe('URL_TOO_LARGE');
    expect(error.details).toMatchObject({ declared: 5000, maxBytes: 2000 });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stops reading a streamed body once it passes maxBytes', async () => {
    const error = await failure(fetchDocument(`${server.base}/big-stream`, options));
    expect(error.code).toBe('URL_TOO_LARGE');
  });

  it.each(['/hang', '/stall-body'])('gives URL_TIMEOUT at the deadline (%s)', async (route) => {
    const started = Date.now();
    const error = await failure(fetchDocument(`${server.base}${route}`, { ...options, timeoutMs: 300 }));
    expect(error.code).toBe('URL_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('follows up to maxRedirects redirects, and fails past them', async () => {
    await expect(fetchDocument(`${server.base}/redirect/3`, options)).resolves.toMatchObject({ bytes: PDF, url: `${server.base}/redirect/0` });
    const error = await failure(fetchDocument(`${server.base}/redirect/4`, options));
    expect(error.code).toBe('URL_FETCH_FAILED');
    expect(error.message).toContain('more than 3 redirects');
    expect((await failure(fetchDocument(`${server.base}/redirect/1`, { ...options, maxRedirects: 0 }))).code).toBe('URL_FETCH_FAILED');
  });

  it('fails a non-2xx answer with URL_FETCH_FAILED and its status', async () => {
    const error = await failure(fetchDocument(`${server.base}/missing`, options));
    expect(error.code).toBe('URL_FETCH_FAILED');
    expect(error.details).toMatchObject({ status: 404 });
  });

  it('refuses a redirect to another scheme', async () => {
    const error = await failure(fetchDocument(`${server.base}/to?url=${encodeURIComponent('file:///etc/passwd')}`, options));
    expect(error.code).toBe('URL_NOT_ALLOWED');
  });
});

describe('fetchDocument refusing private targets (allowPrivateNetworks: false)', () => {
  const options: FetchDocumentOptions = { maxBytes: 2000, timeoutMs: 2000 };

  it.each([
    'http://127.0.0.1/',
    'http://10.0.0.1/',
    'http://172.16.5.4/',
    'http://192.168.86.250/',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://255.255.255.255/',
    'http://224.0.0.1/',
    'http://2130706433/', // 127.0.0.1 in decimal
    'http://0x7f.1/', // 127.0.0.1 in hex-and-short form
    'http://[::1]/',
    'http://[::]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/', // 169.254.169.254, IPv4-mapped
    'http://[::127.0.0.1]/', // IPv4-compatible
    'http://[fe80::1]/',
    'http://[fd12:3456::1]/',
    'http://[ff02::1]/',
    'http://[64:ff9b::a00:1]/', // NAT64 of 10.0.0.1
    'http://localhost/',
    'https://localhost:8443/x.pdf',
  ])('refuses %s with URL_NOT_ALLOWED without opening a socket', async (url) => {
    let error: DomainError | undefined;
    const sockets = await socketsDuring(async () => {
      error = await failure(fetchDocument(url, options));
    });
    expect(error?.code).toBe('URL_NOT_ALLOWED');
    expect(sockets).toBe(0);
  });

  it.each(['ftp://example.com/doc.pdf', 'file:///etc/passwd', 'gopher://example.com/', 'data:application/pdf;base64,JVBERi0=', 'not a url'])(
    'refuses %s with URL_NOT_ALLOWED',
    async (url) => {
      expect((await failure(fetchDocument(url, options))).code).toBe('URL_NOT_ALLOWED');
    },
  );

  it('refuses credentials in the URL', async () => {
    expect((await failure(fetchDocument('http://user:pass@example.com/doc.pdf', options))).code).toBe('URL_NOT_ALLOWED');
  });

  describe('re-validating redirects', () => {
    // The first server is allowed by an explicit allow-list entry (127.0.0.1/32); everything else private is not.
    let allowed: TestServer;
    let forbidden: TestServer;
    let strict: FetchDocumentOptions;
    beforeAll(async () => {
      allowed = await startServer('127.0.0.1', routes);
      forbidden = await startServer('127.0.0.2', routes);
      strict = { ...options, allowAddresses: ['127.0.0.1/32'] };
    });
    afterAll(() => Promise.all([allowed.close(), forbidden.close()]));

    it('fetches from the allow-listed address', async () => {
      await expect(fetchDocument(`${allowed.base}/doc.pdf`, strict)).resolves.toMatchObject({ bytes: PDF });
      expect((await failure(fetchDocument(`${forbidden.base}/doc.pdf`, strict))).code).toBe('URL_NOT_ALLOWED');
    });

    it.each([
      ['another loopback address', (): string => `${forbidden.base}/doc.pdf`],
      ['the metadata service', (): string => 'http://169.254.169.254/latest/meta-data'],
      ['a private network', (): string => 'http://10.0.0.1/doc.pdf'],
      ['IPv6 loopback', (): string => `http://[::1]:${new URL(allowed.base).port}/doc.pdf`],
    ])('refuses a redirect to %s, connecting only to the first server', async (_what, target) => {
      let error: DomainError | undefined;
      const sockets = await socketsDuring(async () => {
        error = await failure(fetchDocument(`${allowed.base}/to?url=${encodeURIComponent(target())}`, strict));
      });
      expect(error?.code).toBe('URL_NOT_ALLOWED');
      expect(sockets).toBe(1);
      expect(forbidden.requests()).toBe(0);
    });
  });
});

describe('checkDocumentUrl, at submission', () => {
  it.each([
    'http://127.0.0.1/doc.pdf',
    'http://10.0.0.1/doc.pdf',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/',
    'http://localhost/',
    'file:///etc/passwd',
  ])('refuses %s with URL_NOT_ALLOWED', async (url) => {
    await expect(checkDocumentUrl(url)).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
  });

  it('lets a private address through only when configured', async () => {
    await expect(checkDocumentUrl('http://127.0.0.1/doc.pdf', { allowPrivateNetworks: true })).resolves.toBeUndefined();
  });
});
