import { JobCache } from './job-cache';
import type { JobRecord } from './job-queries';

const record = (jobId: string, version: number): JobRecord =>
  ({ lifecycle: { jobId, status: 'queued' }, kindState: {}, version }) as unknown as JobRecord;

const found = (...records: JobRecord[]): Map<string, JobRecord> =>
  new Map(records.map((one) => [(one.lifecycle as { jobId: string }).jobId, one]));

/** A read of the table, begun now, that finds `records` when it ends. */
const read = (cache: JobCache, ...records: JobRecord[]) => {
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

  it('forgets the least recently used job beyond its capacity', () => {
    const cache = new JobCache(2);
    read(cache, record('a', 1), record('b', 1)).end();
    expect(cache.get('a')).toBeDefined();
    read(cache, record('c', 1)).end();
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.size).toBe(2);
  });

  it('refuses a capacity below one', () => {
    expect(() => new JobCache(0)).toThrow(RangeError);
  });
});
