import { JobCache } from './job-cache';
import type { JobRecord, SizedJobRecord } from './job-queries';

const record = (jobId: string, version: number, storedBytes = 100): SizedJobRecord => ({
  record: { lifecycle: { jobId, status: 'queued' }, kindState: {}, version } as unknown as JobRecord,
  storedBytes,
});

const found = (...records: SizedJobRecord[]): Map<string, SizedJobRecord> =>
  new Map(records.map((one) => [(one.record.lifecycle as { jobId: string }).jobId, one]));

/** A read of the table, begun now, that finds `records` when it ends. */
const read = (cache: JobCache, ...records: SizedJobRecord[]) => {
  const ticket = cache.beginRead();
  return { end: () => cache.endRead(ticket, found(...records)), fail: () => cache.endRead(ticket) };
};

describe('JobCache', () => {
  it('keeps what a read found until the job is written', () => {
    const cache = new JobCache();
    expect(cache.get('a')).toBeUndefined();
    read(cache, record('a', 2), record('b', 3)).end();
    expect(cache.get('a')?.version).toBe(2);
    expect(cache.get('b')?.version).toBe(3);
    expect(cache.get('b')).toBe(cache.get('b'));
    cache.written(['a']);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')?.version).toBe(3);
  });

  it('does not keep what a read found of a job written after the read began', () => {
    const cache = new JobCache();
    const before = read(cache, record('a', 2), record('b', 3));
    cache.written(['a']);
    before.end();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')?.version).toBe(3);
    // A read begun after the write keeps it.
    read(cache, record('a', 3)).end();
    expect(cache.get('a')?.version).toBe(3);
  });

  it('judges each of two overlapping reads by when it began', () => {
    const cache = new JobCache();
    const first = read(cache, record('a', 2));
    cache.written(['a']);
    const second = read(cache, record('a', 3));
    second.end();
    expect(cache.get('a')?.version).toBe(3);
    cache.written(['a']);
    // Both began before this write: neither may put an older row back.
    first.end();
    expect(cache.get('a')).toBeUndefined();
  });

  it('still refuses a read begun before a write once other reads have ended', () => {
    const cache = new JobCache();
    const slow = read(cache, record('a', 2));
    cache.written(['a']);
    for (let i = 0; i < 3; i += 1) read(cache, record('b', 1)).end();
    slow.end();
    expect(cache.get('a')).toBeUndefined();
  });

  it('ends a failed read without keeping anything, and later reads keep again', () => {
    const cache = new JobCache();
    const failed = read(cache);
    cache.written(['a']);
    failed.fail();
    read(cache, record('a', 4)).end();
    expect(cache.get('a')?.version).toBe(4);
  });

  it('forgets the least recently used job beyond its count of jobs', () => {
    const cache = new JobCache({ maxJobs: 2 });
    read(cache, record('a', 1), record('b', 1)).end();
    expect(cache.get('a')).toBeDefined();
    read(cache, record('c', 1)).end();
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.size).toEqual({ jobs: 2, bytes: 200 });
  });

  it('forgets the least recently used jobs beyond its bytes, and never keeps one too large', () => {
    const cache = new JobCache({ maxBytes: 1_000, maxJobBytes: 600 });
    read(cache, record('a', 1, 400), record('b', 1, 400)).end();
    expect(cache.size).toEqual({ jobs: 2, bytes: 800 });
    read(cache, record('c', 1, 300)).end();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toEqual({ jobs: 2, bytes: 700 });
    read(cache, record('huge', 1, 601)).end();
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toEqual({ jobs: 2, bytes: 700 });
    // A job read again at another size counts once, at its new size; a write takes its bytes out.
    read(cache, record('b', 2, 500)).end();
    expect(cache.size).toEqual({ jobs: 2, bytes: 800 });
    cache.written(['b']);
    expect(cache.size).toEqual({ jobs: 1, bytes: 300 });
  });

  it('keeps no job larger than its whole budget', () => {
    const cache = new JobCache({ maxBytes: 500 });
    read(cache, record('a', 1, 501), record('b', 1, 500)).end();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toEqual({ jobs: 1, bytes: 500 });
  });

  it('refuses limits below one', () => {
    expect(() => new JobCache({ maxJobs: 0 })).toThrow(RangeError);
    expect(() => new JobCache({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => new JobCache({ maxJobBytes: Number.NaN })).toThrow(RangeError);
  });
});
