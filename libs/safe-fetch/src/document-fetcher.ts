import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { DomainError } from '@switchyard/contracts';
import { errorCode } from './network-errors';

export interface FetchDocumentOptions {
  maxBytes: number;
  /** Deadline for the whole fetch: every lookup, redirect and the body. */
  timeoutMs: number;
  /** Allow loopback, private, link-local, unique-local, CGNAT and reserved addresses. Default false. */
  allowPrivateNetworks?: boolean;
  /** CIDR ranges allowed even when private (an internal document server), e.g. ['10.1.2.0/24']. */
  allowAddresses?: readonly string[];
  maxRedirects?: number;
}

export interface FetchedDocument {
  bytes: Buffer;
  contentType?: string;
  /** The URL the bytes came from, after redirects. */
  url: string;
}

export interface AddressPolicy {
  allowPrivateNetworks: boolean;
  allowAddresses: readonly string[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Not hosts at all: never a place to fetch from, whatever the policy.
const NEVER = new Set(['unspecified', 'multicast', 'broadcast']);

/**
 * Fetches a document for printing from a client-given URL without letting that URL reach into our
 * networks (SSRF): every host is resolved and checked before we connect, the connection is pinned to the
 * checked addresses (so DNS rebinding cannot swap them), and every redirect is checked again.
 */
export async function fetchDocument(url: string, options: FetchDocumentOptions): Promise<FetchedDocument> {
  const policy: AddressPolicy = {
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    allowAddresses: options.allowAddresses ?? [],
  };
  for (const cidr of policy.allowAddresses) parseCidr(cidr);
  const maxRedirects = options.maxRedirects ?? 3;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const timedOut = (): DomainError =>
    new DomainError('URL_TIMEOUT', `fetching ${url} took longer than ${options.timeoutMs} ms`, { url, timeoutMs: options.timeoutMs });

  let target = checkUrl(url);
  for (let redirects = 0; ; redirects++) {
    const addresses = await raceDeadline(resolveAllowed(target, policy), deadline, timedOut);
    const outcome = await get(target, addresses, policy, options.maxBytes, deadline, timedOut);
    if (outcome.kind === 'document') return { ...outcome.document, url: target.href };
    if (redirects >= maxRedirects) {
      throw new DomainError('URL_FETCH_FAILED', `${url}: more than ${maxRedirects} redirects`, { url, maxRedirects });
    }
    target = checkUrl(new URL(outcome.location, target).href);
  }
}

/** Only absolute http(s) URLs without credentials; IP literals are checked here, before any lookup. */
/**
 * Refuses, before any job exists, a URL that fetchDocument would refuse for its scheme or its
 * host's addresses (URL_NOT_ALLOWED): a client learns at submission that 10.0.0.1 is off limits.
 * The fetch checks again, since DNS may answer differently by then.
 */
export async function checkDocumentUrl(
  url: string,
  options: Pick<FetchDocumentOptions, 'allowPrivateNetworks' | 'allowAddresses'> = {},
): Promise<void> {
  const policy: AddressPolicy = {
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    allowAddresses: options.allowAddresses ?? [],
  };
  await resolveAllowed(checkUrl(url), policy);
}

function checkUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw notAllowed(raw, 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw notAllowed(raw, `the scheme ${url.protocol} is not allowed`);
  if (url.username || url.password) throw notAllowed(raw, 'credentials in the URL are not allowed');
  return url;
}

const notAllowed = (url: string, why: string, details: Record<string, unknown> = {}): DomainError =>
  new DomainError('URL_NOT_ALLOWED', `${url}: ${why}`, { url, ...details });

const bareHost = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

async function resolveAllowed(url: URL, policy: AddressPolicy): Promise<LookupAddress[]> {
  const host = bareHost(url);
  const family = isIP(host);
  let addresses: LookupAddress[];
  if (family !== 0) addresses = [{ address: host, family }];
  else {
    try {
      addresses = await dnsLookup(host, { all: true, verbatim: true });
    } catch (error) {
      throw new DomainError('URL_FETCH_FAILED', `${url.href}: cannot resolve ${host} (${errorCode(error) ?? 'lookup failed'})`, {
        url: url.href,
        cause: errorCode(error),
      });
    }
  }
  // One bad address refuses the host: we must not let the resolver's order decide where we go.
  for (const { address } of addresses) {
    if (!isAddressAllowed(address, policy)) {
      throw notAllowed(url.href, `${host} is ${address} (${addressRange(address)}), which is not a public address`, {
        address,
        range: addressRange(address),
      });
    }
  }
  if (addresses.length === 0) throw new DomainError('URL_FETCH_FAILED', `${url.href}: ${host} has no address`, { url: url.href });
  return addresses;
}

/** ipaddr.js's range name, IPv4-mapped IPv6 judged as the IPv4 address it carries. */
export function addressRange(address: string): string {
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv6') {
    const ipv6 = parsed as ipaddr.IPv6;
    // IPv4-compatible ::a.b.c.d (deprecated) carries an IPv4 address that ipaddr.js calls unicast.
    if (ipv6.range() === 'unicast' && ipv6.match(ipaddr.IPv6.parse('::'), 96)) return 'ipv4Compatible';
  }
  return parsed.range();
}

/** Whether `address` may be connected to under `policy`. Public unicast always; private only if allowed. */
export function isAddressAllowed(address: string, policy: AddressPolicy): boolean {
  if (!ipaddr.isValid(address)) return false;
  const range = addressRange(address);
  if (NEVER.has(range)) return false;
  if (range === 'unicast' || policy.allowPrivateNetworks) return true;
  const parsed = ipaddr.process(address);
  return policy.allowAddresses.some((cidr) => {
    const [network, bits] = parseCidr(cidr);
    return network.kind() === parsed.kind() && parsed.match(network, bits);
  });
}

function parseCidr(cidr: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  try {
    const [network, bits] = ipaddr.parseCIDR(cidr);
    const processed = network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress()
      ? ([(network as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)] as [ipaddr.IPv4, number])
      : ([network, bits] as [ipaddr.IPv4 | ipaddr.IPv6, number]);
    return processed;
  } catch {
    throw new RangeError(`allowAddresses: not a CIDR range: ${cidr}`);
  }
}

function raceDeadline<T>(work: Promise<T>, signal: AbortSignal, timedOut: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(timedOut());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(timedOut());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

type Outcome = { kind: 'document'; document: { bytes: Buffer; contentType?: string } } | { kind: 'redirect'; location: string };

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A lookup that answers only the addresses already checked, checking them once more as it hands them out. */
function pinnedLookup(checked: LookupAddress[], policy: AddressPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const wanted = options.family === 4 || options.family === 6 ? checked.filter((a) => a.family === options.family) : checked;
    const refused = wanted.find(({ address }) => !isAddressAllowed(address, policy));
    if (refused || wanted.length === 0) {
      const error: NodeJS.ErrnoException = new Error(`${hostname}: no allowed address`);
      error.code = 'ENOTFOUND';
      callback(error, []);
      return;
    }
    if (options.all) callback(null, wanted);
    else callback(null, wanted[0]?.address ?? '', wanted[0]?.family);
  };
}

function get(
  url: URL,
  addresses: LookupAddress[],
  policy: AddressPolicy,
  maxBytes: number,
  deadline: AbortSignal,
  timedOut: () => DomainError,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | null, outcome?: Outcome): void => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener('abort', onDeadline);
      if (error) {
        req.destroy();
        reject(error);
      } else resolve(outcome as Outcome);
    };
    const failed = (error: unknown): DomainError =>
      new DomainError('URL_FETCH_FAILED', `${url.href}: ${error instanceof Error ? error.message : String(error)}`, {
        url: url.href,
        cause: errorCode(error),
      });
    const onDeadline = (): void => settle(timedOut());

    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'GET',
        agent: false,
        lookup: pinnedLookup(addresses, policy) as unknown as http.RequestOptions['lookup'],
        headers: { Accept: '*/*', 'Accept-Encoding': 'identity', 'User-Agent': 'Switchyard-DocumentFetcher' },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          res.resume();
          const location = res.headers.location;
          if (!location) settle(new DomainError('URL_FETCH_FAILED', `${url.href}: HTTP ${status} without a Location`, { url: url.href, status }));
          else settle(null, { kind: 'redirect', location });
          req.destroy();
          return;
        }
        if (status < 200 || status > 299) {
          res.resume();
          settle(new DomainError('URL_FETCH_FAILED', `${url.href}: HTTP ${status}`, { url: url.href, status }));
          return;
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          settle(tooLarge(url, maxBytes, declared));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) settle(tooLarge(url, maxBytes));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const contentType = res.headers['content-type'];
          settle(null, { kind: 'document', document: { bytes: Buffer.concat(chunks, size), ...(contentType ? { contentType } : {}) } });
        });
        res.on('error', (error) => settle(failed(error)));
        res.on('close', () => {
          if (!res.complete) settle(failed(new Error('the connection closed before the body ended')));
        });
      },
    );
    if (deadline.aborted) onDeadline();
    else deadline.addEventListener('abort', onDeadline, { once: true });
    req.on('error', (error) => settle(failed(error)));
    req.end();
  });
}

const tooLarge = (url: URL, maxBytes: number, declared?: number): DomainError =>
  new DomainError(
    'URL_TOO_LARGE',
    declared === undefined ? `${url.href}: the body exceeds ${maxBytes} bytes` : `${url.href}: ${declared} bytes exceed ${maxBytes}`,
    { url: url.href, maxBytes, ...(declared === undefined ? {} : { declared }) },
  );
