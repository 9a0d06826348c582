import { expect } from '@jest/globals';
import { isDomainError, type DomainError, type ErrorCode } from '@switchyard/contracts';
import type { Decider } from '../command-handler';

export interface DeciderThen<E> {
  /** The decision is exactly these events, in this order. */
  then(expectedEvents: E | E[]): void;
  /** The decision is [] (an accepted repeat, a progress report that goes nowhere). */
  thenNothing(): void;
  /** The decision is refused with a DomainError, with this code when one is given. */
  thenThrows(code?: ErrorCode, check?: (error: DomainError) => boolean): void;
}

export interface DeciderSpecification<Command, E> {
  given(events: E | E[]): { when(command: Command): DeciderThen<E> };
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function specificationFor<Command, E, State>(
  decider: Decider<Command, E, State>,
): DeciderSpecification<Command, E> {
  return {
    given: (givenEvents) => ({
      when: (command) => {
        const decide = (): E[] =>
          decider.decide(command, asArray(givenEvents).reduce(decider.evolve, decider.initialState()));

        return {
          then: (expectedEvents) => {
            expect(decide()).toEqual(asArray(expectedEvents));
          },
          thenNothing: () => {
            expect(decide()).toEqual([]);
          },
          thenThrows: (code, check) => {
            let decided: E[];
            try {
              decided = decide();
            } catch (error) {
              // Anything but a DomainError is a bug, not a decision: let it surface as it is.
              if (!isDomainError(error)) throw error;
              if (code !== undefined) expect(error.code).toBe(code);
              if (check !== undefined) expect(check(error)).toBe(true);
              return;
            }
            throw new Error(
              `expected ${code ?? 'a DomainError'}, but the decider decided ${JSON.stringify(decided)}`,
            );
          },
        };
      },
    }),
  };
}

/** given(events) / when(command) / then(events | nothing | error code), with no store at all. */
export const DeciderSpecification = { for: specificationFor };
