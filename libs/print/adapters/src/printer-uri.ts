import { isIP } from 'node:net';
import { DomainError } from '@switchyard/contracts';

export interface IppPrinterUri {
  kind: 'ipp';
  scheme: 'ipp' | 'ipps';
  /** Host name or IP address, IPv6 without brackets. */
  host: string;
  port: number;
  /** The resource path, `/ipp/print` when the URI has none (IPP Everywhere's default). */
  path: string;
  /** Normalized form: scheme, lower-case host, explicit port and path. */
  uri: string;
}

export interface SocketPrinterUri {
  kind: 'socket';
  host: string;
  port: number;
  uri: string;
}

export type PrinterUri = IppPrinterUri | SocketPrinterUri;

export const IPP_DEFAULT_PORT = 631;
export const SOCKET_DEFAULT_PORT = 9100;
const IPP_DEFAULT_PATH = '/ipp/print';

// RFC 1123 host names: letters, digits and hyphens in dot-separated labels.
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/;

const invalid = (uri: string, why: string): DomainError =>
  new DomainError('VALIDATION_FAILED', `invalid printer URI "${uri}": ${why}`, { uri });

const hostForUri = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/** Parses `ipp://host[:port]/path`, `ipps://host[:port]/path` or `socket://host[:port]`; throws VALIDATION_FAILED. */
export function parsePrinterUri(uri: string): PrinterUri {
  let url: URL;
  try {
    url = new URL(uri.trim());
  } catch {
    throw invalid(uri, 'not a URI');
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'ipp' && scheme !== 'ipps' && scheme !== 'socket') {
    throw invalid(uri, 'the scheme must be ipp, ipps or socket');
  }
  if (url.username || url.password) throw invalid(uri, 'credentials in the URI are not supported');
  if (url.search || url.hash) throw invalid(uri, 'a query or fragment is not allowed');

  const host = parseHost(uri, url.hostname);
  const port = url.port === '' ? (scheme === 'socket' ? SOCKET_DEFAULT_PORT : IPP_DEFAULT_PORT) : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(uri, 'the port must be 1-65535');

  if (scheme === 'socket') {
    if (url.pathname !== '' && url.pathname !== '/') throw invalid(uri, 'a socket URI has no path');
    return { kind: 'socket', host, port, uri: `socket://${hostForUri(host)}:${port}` };
  }
  const path = url.pathname === '' || url.pathname === '/' ? IPP_DEFAULT_PATH : url.pathname;
  return { kind: 'ipp', scheme, host, port, path, uri: `${scheme}://${hostForUri(host)}:${port}${path}` };
}

function parseHost(uri: string, raw: string): string {
  if (raw.startsWith('[') && raw.endsWith(']')) {
    const literal = raw.slice(1, -1).toLowerCase();
    if (isIP(literal) !== 6) throw invalid(uri, 'bad IPv6 address');
    return literal;
  }
  const host = raw.toLowerCase();
  if (isIP(host) === 4 || HOST_NAME.test(host)) return host;
  throw invalid(uri, 'bad host name');
}

/**
 * The printer's path in the print dialect: `tcp_<host-with-dashes>_<port>` for a raw socket printer
 * (socket://192.168.86.250:9100 -> tcp_192-168-86-250_9100), the registered name for an IPP printer.
 */
export function printerPath(uri: string | PrinterUri, name: string): string {
  const parsed = typeof uri === 'string' ? parsePrinterUri(uri) : uri;
  if (parsed.kind === 'ipp') return name;
  return `tcp_${parsed.host.replace(/[.:]/g, '-')}_${parsed.port}`;
}
