import http from 'node:http';
import https from 'node:https';
import { randomInt } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { parse, serialize } from 'ipp';
import { DomainError } from '@switchyard/contracts';
import { networkFailure } from '@switchyard/safe-fetch';

// ipp's parser logs every out-of-band value (no-value, unknown, unsupported) with console.log; these
// mean "no value" to us, so swallow them (the hook is the parser's documented extension point).
(parse as unknown as { handleUnknownTag: UnknownTagHandler }).handleUnknownTag = (tag, _name, length, read) => {
  const raw = length > 0 ? read(length) : undefined;
  return tag >= 0x10 && tag <= 0x1f ? undefined : raw;
};
type UnknownTagHandler = (tag: number, name: string, length: number, read: (length: number) => string) => unknown;

export interface IppTlsOptions {
  /** Trusted CA certificate(s), PEM; printers mostly have self-signed certificates. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Defaults to true; turn off only for a printer you reach over a network you trust. */
  rejectUnauthorized?: boolean;
  /**
   * SHA-256 fingerprint of the printer's certificate ("AB:CD:…", as `openssl x509 -fingerprint -sha256`
   * prints it): trust exactly that certificate, self-signed or not. Nothing is sent before it matches.
   */
  fingerprint256?: string;
}

export interface IppEndpoint {
  secure: boolean;
  host: string;
  port: number;
  path: string;
  /** The `printer-uri` operation attribute (the ipp:// or ipps:// form). */
  printerUri: string;
  tls?: IppTlsOptions;
}

export interface IppRequest {
  operation: 'Print-Job' | 'Get-Printer-Attributes' | 'Get-Job-Attributes' | 'Get-Jobs' | 'Cancel-Job';
  attributes: Record<string, unknown>;
  document?: Buffer;
}

export type IppAttributes = Record<string, unknown>;

export interface IppReply {
  /** The IPP status code, e.g. 0x0000 successful-ok, 0x0406 client-error-not-found. */
  status: number;
  statusName: string;
  successful: boolean;
  /** The printer's `status-message`, if it sent one. */
  statusMessage?: string;
  operationAttributes: IppAttributes;
  printerAttributes: IppAttributes;
  /** Attributes of the request the printer did not support (unsupported-attributes group). */
  unsupportedAttributes: IppAttributes;
  /** Every job-attributes group, in order (Get-Jobs answers one per job). */
  jobs: IppAttributes[];
}

const MAX_REPLY_BYTES = 8 * 1024 * 1024;
const IPP_VERSION = '2.0';

/** One IPP operation over HTTP(S): a POST, one reply, everything within `timeoutMs`. */
export async function ippExchange(endpoint: IppEndpoint, request: IppRequest, timeoutMs: number): Promise<IppReply> {
  const body = encode(endpoint, request);
  const reply = await post(endpoint, body, timeoutMs, request.operation);
  return decode(reply);
}

function encode(endpoint: IppEndpoint, request: IppRequest): Buffer {
  const message: Record<string, unknown> = {
    version: IPP_VERSION,
    operation: request.operation,
    id: randomInt(1, 2 ** 31 - 1),
    'operation-attributes-tag': {
      'attributes-charset': 'utf-8',
      'attributes-natural-language': 'en',
      'printer-uri': endpoint.printerUri,
      ...request.attributes,
    },
  };
  if (request.document) message['data'] = request.document;
  try {
    return serialize(message);
  } catch (thrown) {
    // ipp throws strings ("Unknown attribute: x"): that is our bug, not the printer's.
    throw new TypeError(`cannot encode IPP ${request.operation}: ${String(thrown)}`);
  }
}

function decode(bytes: Buffer): IppReply {
  if (bytes.length < 9) throw notIpp(`a reply of ${bytes.length} bytes`);
  const status = bytes.readUInt16BE(2);
  let parsed: Record<string, unknown>;
  try {
    parsed = parse(bytes) as unknown as Record<string, unknown>;
  } catch (error) {
    throw notIpp(error instanceof Error ? error.message : String(error));
  }
  const operationAttributes = firstGroup(parsed['operation-attributes-tag']);
  const statusName = typeof parsed['statusCode'] === 'string' ? parsed['statusCode'] : `0x${status.toString(16).padStart(4, '0')}`;
  return {
    status,
    statusName,
    successful: status < 0x0100,
    statusMessage: ippText(operationAttributes['status-message']),
    operationAttributes,
    printerAttributes: firstGroup(parsed['printer-attributes-tag']),
    unsupportedAttributes: firstGroup(parsed['unsupported-attributes-tag']),
    jobs: groups(parsed['job-attributes-tag']),
  };
}

const notIpp = (why: string): DomainError =>
  new DomainError('PRINTER_REJECTED', `the printer's reply is not valid IPP (${why})`);

function post(endpoint: IppEndpoint, body: Buffer, timeoutMs: number, operation: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let requestSent = false;
    const settle = (error: Error | null, reply?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        req.destroy();
        reject(error);
      } else resolve(reply as Buffer);
    };
    const failure = (error: unknown): DomainError =>
      networkFailure(error, { what: 'the printer', host: endpoint.host, port: endpoint.port, afterRequestSent: requestSent });

    const options: https.RequestOptions = {
      host: endpoint.host,
      port: endpoint.port,
      path: endpoint.path,
      method: 'POST',
      // One connection per operation: a pooled socket the printer closed meanwhile would fail as a reset.
      agent: false,
      headers: { 'Content-Type': 'application/ipp', 'Content-Length': body.length, Accept: 'application/ipp' },
    };
    const pinned = endpoint.secure ? endpoint.tls?.fingerprint256 : undefined;
    if (endpoint.secure) {
      if (endpoint.tls?.ca !== undefined) options.ca = endpoint.tls.ca;
      // A pinned certificate replaces chain verification (printers' certificates are mostly self-signed).
      options.rejectUnauthorized = pinned === undefined && (endpoint.tls?.rejectUnauthorized ?? true);
    }
    const req = (endpoint.secure ? https : http).request(options, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        settle(
          new DomainError('PRINTER_REJECTED', `the printer answered HTTP ${res.statusCode ?? '?'} to ${operation}`, {
            httpStatus: res.statusCode,
          }),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES) settle(notIpp(`the reply exceeds ${MAX_REPLY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => settle(null, Buffer.concat(chunks, size)));
      res.on('error', (error) => settle(failure(error)));
      res.on('close', () => {
        if (!res.complete) settle(failure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
      });
    });
    const timer = setTimeout(() => {
      settle(
        new DomainError(
          'PRINTER_TIMEOUT',
          `no answer from the printer at ${endpoint.host}:${endpoint.port} to ${operation} within ${timeoutMs} ms`,
          { timeoutMs, requestSent },
        ),
      );
    }, timeoutMs);
    req.on('error', (error) => settle(failure(error)));
    const send = (): void => {
      req.end(body, () => {
        requestSent = true;
      });
    };
    if (pinned === undefined) send();
    else {
      // Nothing is written (not even the headers) until the certificate is the pinned one.
      req.once('socket', (socket) => {
        const secure = socket as TLSSocket;
        const verify = (): void => {
          const actual = secure.getPeerCertificate().fingerprint256;
          if (sameFingerprint(actual, pinned)) send();
          else {
            settle(
              new DomainError('PRINTER_UNREACHABLE', `the printer at ${endpoint.host}:${endpoint.port} presented certificate ${actual ?? '(none)'}, not the pinned ${pinned}`, {
                cause: 'CERT_FINGERPRINT_MISMATCH',
              }),
            );
          }
        };
        if (secure.encrypted && !secure.connecting && secure.getPeerCertificate()?.fingerprint256) verify();
        else secure.once('secureConnect', verify);
      });
    }
  });
}

const sameFingerprint = (actual: string | undefined, pinned: string): boolean =>
  actual !== undefined && actual.replace(/:/g, '').toUpperCase() === pinned.replace(/:/g, '').toUpperCase();

// ---- normalizing ipp's shapes: one value is a scalar, several an array, a repeated group an array ----

export const asArray = (value: unknown): unknown[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];

const isAttributes = (value: unknown): value is IppAttributes =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const groups = (value: unknown): IppAttributes[] => asArray(value).filter(isAttributes);
const firstGroup = (value: unknown): IppAttributes => groups(value)[0] ?? {};

/** A text or name value; ipp gives `lang\u001etext` for the with-language forms. */
export function ippText(value: unknown): string | undefined {
  const first = asArray(value)[0];
  if (typeof first !== 'string') return undefined;
  const separator = first.indexOf('\u001e');
  return separator === -1 ? first : first.slice(separator + 1);
}

export const ippStrings = (value: unknown): string[] =>
  asArray(value).flatMap((item) => (typeof item === 'string' ? [ippText(item) ?? item] : []));

export function ippInteger(value: unknown): number | undefined {
  const first = asArray(value)[0];
  return typeof first === 'number' && Number.isInteger(first) ? first : undefined;
}

export function ippBoolean(value: unknown): boolean | undefined {
  const first = asArray(value)[0];
  return typeof first === 'boolean' ? first : undefined;
}
