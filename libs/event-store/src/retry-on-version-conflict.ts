import { isDomainError } from '@switchyard/contracts';

export const DEFAULT_CONFLICT_ATTEMPTS = 10;

/** Full jitter over 2, 4, 8 ... ms, capped at 50: racers spread out instead of colliding again. */
const backoffMs = (attempt: number): number => Math.random() * Math.min(50, 2 ** attempt);

/**
 * Runs `work` (a whole `store.transaction(...)`) again when it lost a race on a stream's version
 * (VERSION_CONFLICT), up to `attempts` times in all, after a short jittered pause. Each run must
 * re-read what it decides on: it is a new transaction. Any other error is thrown at once.
 */
export async function retryOnVersionConflict<T>(work: () => Promise<T>, attempts = DEFAULT_CONFLICT_ATTEMPTS): Promise<T> {
  const rounds = Math.max(1, attempts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isDomainError(error, 'VERSION_CONFLICT') || attempt >= rounds) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
  }
}
