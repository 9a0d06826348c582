import { isDomainError, type DomainError } from '../errors';

/** The DomainError `work` rejects with; anything else (or no rejection) fails the test. */
export async function domainFailure(work: Promise<unknown>): Promise<DomainError> {
  try {
    await work;
  } catch (error) {
    if (isDomainError(error)) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}
