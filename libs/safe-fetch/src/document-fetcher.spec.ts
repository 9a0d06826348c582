import fc from 'fast-check';
import { addressRange, fetchDocument, isAddressAllowed, type AddressPolicy } from './document-fetcher';

const strict: AddressPolicy = { allowPrivateNetworks: false, allowAddresses: [] };
const lenient: AddressPolicy = { allowPrivateNetworks: true, allowAddresses: [] };

describe('isAddressAllowed', () => {
  it.each(['8.8.8.8', '1.1.1.1', '93.184.215.14', '2606:4700:4700::1111', '2a00:1450:4001:82a::200e', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(isAddressAllowed(address, strict)).toBe(true);
    },
  );

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.86.250', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['239.1.2.3', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fdff:ffff::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::127.0.0.1', 'loopback'], // ipaddr.js reads a dotted tail as the IPv4 address
    ['::7f00:1', 'ipv4Compatible'],
    ['::a00:1', 'ipv4Compatible'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
  ])('refuses %s (%s)', (address, range) => {
    expect(addressRange(address)).toBe(range);
    expect(isAddressAllowed(address, strict)).toBe(false);
  });

  it('allows private ranges with allowPrivateNetworks, but never non-hosts', () => {
    for (const address of ['127.0.0.1', '10.0.0.1', '169.254.169.254', '::1', 'fd00::1', '100.64.0.1']) {
      expect(isAddressAllowed(address, lenient)).toBe(true);
    }
    for (const address of ['0.0.0.0', '::', '255.255.255.255', '224.0.0.1', 'ff02::1']) {
      expect(isAddressAllowed(address, lenient)).toBe(false);
    }
  });

  it('allows exactly the allow-listed ranges, IPv4-mapped forms included', () => {
    const policy: AddressPolicy = { allowPrivateNetworks: false, allowAddresses: ['10.1.2.0/24', 'fd00:1::/32', '::ffff:192.168.1.7/128'] };
    expect(isAddressAllowed('10.1.2.200', policy)).toBe(true);
    expect(isAddressAllowed('::ffff:10.1.2.200', policy)).toBe(true);
    expect(isAddressAllowed('10.1.3.1', policy)).toBe(false);
    expect(isAddressAllowed('fd00:1:2::3', policy)).toBe(true);
    expect(isAddressAllowed('fd00:2::3', policy)).toBe(false);
    expect(isAddressAllowed('192.168.1.7', policy)).toBe(true);
    expect(isAddressAllowed('192.168.1.8', policy)).toBe(false);
  });

  it('refuses what is not an address', () => {
    expect(isAddressAllowed('localhost', lenient)).toBe(false);
    expect(isAddressAllowed('999.1.1.1', lenient)).toBe(false);
  });

  it('judges every IPv4 address and its IPv4-mapped IPv6 form alike', () => {
    fc.assert(
      fc.property(fc.ipV4(), (address) => {
        expect(isAddressAllowed(`::ffff:${address}`, strict)).toBe(isAddressAllowed(address, strict));
      }),
    );
  });

  it('refuses every address of 10/8, 172.16/12, 192.168/16 and 127/8', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const privateAddress = fc.oneof(
      fc.tuple(octet, octet, octet).map(([b, c, d]) => `10.${b}.${c}.${d}`),
      fc.tuple(fc.integer({ min: 16, max: 31 }), octet, octet).map(([b, c, d]) => `172.${b}.${c}.${d}`),
      fc.tuple(octet, octet).map(([c, d]) => `192.168.${c}.${d}`),
      fc.tuple(octet, octet, octet).map(([b, c, d]) => `127.${b}.${c}.${d}`),
    );
    fc.assert(fc.property(privateAddress, (address) => !isAddressAllowed(address, strict)));
  });
});

describe('fetchDocument options', () => {
  it('rejects a malformed allow-list entry as a programming error', async () => {
    await expect(fetchDocument('http://example.com/', { maxBytes: 1, timeoutMs: 1, allowAddresses: ['10.0.0.0/33'] })).rejects.toThrow(RangeError);
  });
});
