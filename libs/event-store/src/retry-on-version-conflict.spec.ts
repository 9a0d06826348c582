import { DomainError } from '@switchyard/contracts';
import { VersionConflictError } from './errors';
import { retryOnVersionConflict } from './retry-on-version-conflict';

describe('retryOnVersionConflict', () => {
  it('runs the work again after a version conflict, and returns its result', async () => {
    let runs = 0;
    const result = await retryOnVersionConflict(async () => {
      runs += 1;
      if (runs < 3) throw new VersionConflictError('credits-o', 4, 5);
      return 'done';
    });
    expect(result).toBe('done');
    expect(runs).toBe(3);
  });

  it('gives up after the attempts it was given, with the conflict', async () => {
    let runs = 0;
    const work = async () => {
      runs += 1;
      throw new VersionConflictError('credits-o', 1, 2);
    };
    await expect(retryOnVersionConflict(work, 4)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    expect(runs).toBe(4);
  });

  it('does not retry any other error', async () => {
    let runs = 0;
    const work = async () => {
      runs += 1;
      throw new DomainError('INSUFFICIENT_CREDITS', 'short');
    };
    await expect(retryOnVersionConflict(work)).rejects.toMatchObject({ code: 'INSUFFICIENT_CREDITS' });
    await expect(retryOnVersionConflict(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(runs).toBe(1);
  });
});
