import { isDomainError } from '@switchyard/contracts';
import { printerFor } from './printer-connection';
import { parsePrinterUri, printerPath } from './printer-uri';

const refusal = (uri: string): unknown => {
  try {
    parsePrinterUri(uri);
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('parsePrinterUri', () => {
  it('parses ipp:// with the default port and keeps the path', () => {
    expect(parsePrinterUri('ipp://Printer.example.com/ipp/print')).toEqual({
      kind: 'ipp',
      scheme: 'ipp',
      host: 'printer.example.com',
      port: 631,
      path: '/ipp/print',
      uri: 'ipp://printer.example.com:631/ipp/print',
    });
  });

  it('parses ipps:// with a port, and defaults an empty path to /ipp/print', () => {
    expect(parsePrinterUri('ipps://10.0.0.7:8443')).toMatchObject({ kind: 'ipp', scheme: 'ipps', host: '10.0.0.7', port: 8443, path: '/ipp/print' });
    expect(parsePrinterUri('ipp://10.0.0.7/')).toMatchObject({ path: '/ipp/print' });
  });

  it('parses IPv6 literals without brackets, and puts them back in the normalized URI', () => {
    const parsed = parsePrinterUri('ipp://[FE80::1]:8631/printers/office');
    expect(parsed).toMatchObject({ host: 'fe80::1', port: 8631, path: '/printers/office' });
    expect(parsed.uri).toBe('ipp://[fe80::1]:8631/printers/office');
  });

  it('parses socket:// with the port, defaulting to 9100', () => {
    expect(parsePrinterUri('socket://192.168.86.250:9100')).toEqual({
      kind: 'socket',
      host: '192.168.86.250',
      port: 9100,
      uri: 'socket://192.168.86.250:9100',
    });
    expect(parsePrinterUri('socket://labels.local').port).toBe(9100);
  });

  it.each([
    ['http://printer/ipp', 'scheme'],
    ['lpd://printer/queue', 'scheme'],
    ['not a uri', 'not a URI'],
    ['ipp://user:secret@printer/ipp', 'credentials'],
    ['ipp://printer/ipp?x=1', 'query'],
    ['socket://printer:9100/path', 'no path'],
    ['socket://printer:0', 'port'],
    ['socket://printer:70000', 'not a URI'],
    ['ipp://under_score/ipp', 'host'],
    ['ipp://-bad.example/ipp', 'host'],
  ])('refuses %s (%s) with VALIDATION_FAILED', (uri, why) => {
    const error = refusal(uri);
    expect(isDomainError(error, 'VALIDATION_FAILED')).toBe(true);
    expect((error as Error).message).toContain(why);
  });
});

describe('printerPath', () => {
  it('names a socket printer tcp_<ip-with-dashes>_<port>', () => {
    expect(printerPath('socket://192.168.86.250:9100', 'ignored')).toBe('tcp_192-168-86-250_9100');
    expect(printerPath('socket://labels.local', 'ignored')).toBe('tcp_labels-local_9100');
    expect(printerPath('socket://[fd00::12]:9101', 'ignored')).toBe('tcp_fd00--12_9101');
  });

  it("uses an IPP printer's registered name", () => {
    expect(printerPath('ipp://192.168.86.20/ipp/print', 'Office_Laser')).toBe('Office_Laser');
    expect(printerPath(parsePrinterUri('ipps://p.example/ipp/print'), 'p1')).toBe('p1');
  });
});

describe('printerFor', () => {
  it('gives an IPP printer that tracks jobs and a raw printer that does not', async () => {
    const ipp = printerFor('ipp://127.0.0.1:631/ipp/print');
    const raw = printerFor('socket://127.0.0.1:9100');
    expect(ipp.tracksJobs).toBe(true);
    expect(raw.tracksJobs).toBe(false);
    expect(raw.uri.kind).toBe('socket');
    // A raw printer keeps no job list: after a crash, whether it printed cannot be known.
    await expect(raw.find('pj_00000001')).resolves.toEqual({ kind: 'unknowable' });
    await expect(raw.status(1)).rejects.toThrow(TypeError);
  });
});
