import { DomainError, type ExpectedVersion } from '@switchyard/contracts';

/** The stream moved since the caller read it: re-read, re-decide, append again. */
export class VersionConflictError extends DomainError {
  constructor(
    readonly streamId: string,
    readonly expectedVersion: ExpectedVersion,
    readonly actualVersion: number,
    reason?: string,
  ) {
    super(
      'VERSION_CONFLICT',
      `stream ${streamId}: expected version ${String(expectedVersion)}, found ${actualVersion}` +
        (reason ? ` (${reason})` : ''),
      { streamId, expectedVersion, actualVersion },
    );
  }
}

export const isVersionConflict = (error: unknown): error is VersionConflictError =>
  error instanceof VersionConflictError;
