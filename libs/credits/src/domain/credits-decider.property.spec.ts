import fc from 'fast-check';
import { isDomainError, type CreditEvent } from '@switchyard/contracts';
import type { CreditsCommand } from './credits-commands';
import { creditsDecider, type CreditsState } from './credits-decider';

const now = '2030-01-01T00:00:00.000Z';
const jobId = fc.constantFrom('j1', 'j2', 'j3', 'j4');
const amount = fc.integer({ min: 1, max: 20 });

const command: fc.Arbitrary<CreditsCommand> = fc.oneof(
  amount.map((a) => ({ type: 'GrantCredits' as const, data: { amount: a, by: 'ops', now } })),
  fc.tuple(jobId, amount).map(([id, a]) => ({ type: 'DebitCredits' as const, data: { jobId: id, amount: a, now } })),
  fc.tuple(jobId, amount).map(([id, a]) => ({ type: 'RefundCredits' as const, data: { jobId: id, amount: a, now } })),
);

function checkInvariants(state: CreditsState, log: readonly CreditEvent[]): void {
  expect(state.balance).toBeGreaterThanOrEqual(0);
  expect(state.balance).toBe(state.granted - state.debited + state.refunded);
  for (const [id, charge] of state.jobs) {
    expect(charge.refunded).toBeLessThanOrEqual(charge.debited);
    // Recounted from the log itself, not from the state the decider keeps.
    const ofJob = log.filter((event) => event.type !== 'CreditsGranted' && event.data.jobId === id);
    expect(ofJob.filter((event) => event.type === 'CreditsDebited').length).toBeLessThanOrEqual(1);
    const refundedInLog = ofJob.filter((event) => event.type === 'CreditsRefunded').reduce((sum, event) => sum + event.data.amount, 0);
    expect(refundedInLog).toBe(charge.refunded);
  }
  let running = 0;
  for (const event of log) {
    running += event.type === 'CreditsDebited' ? -event.data.amount : event.data.amount;
    expect(running).toBeGreaterThanOrEqual(0);
  }
}

describe('creditsDecider properties', () => {
  it('any sequence of commands keeps balance >= 0, balance = granted - debited + refunded, refunded <= debited per job', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        let state = creditsDecider.initialState();
        const log: CreditEvent[] = [];
        for (const next of commands) {
          let events: CreditEvent[];
          try {
            events = creditsDecider.decide(next, state);
          } catch (error) {
            if (!isDomainError(error)) throw error;
            expect(['INSUFFICIENT_CREDITS', 'REFUND_EXCEEDS_DEBIT', 'ILLEGAL_TRANSITION']).toContain(error.code);
            continue;
          }
          log.push(...events);
          state = events.reduce(creditsDecider.evolve, state);
          checkInvariants(state, log);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a refund repeated after a full refund never moves the balance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 5 }), (debit, parts) => {
        const total = parts.reduce((sum, part) => sum + part, 0);
        const events: CreditEvent[] = [
          { type: 'CreditsGranted', data: { amount: total + debit, by: 'ops', at: now } },
          { type: 'CreditsDebited', data: { jobId: 'j', amount: total, at: now } },
          ...parts.map((part): CreditEvent => ({ type: 'CreditsRefunded', data: { jobId: 'j', amount: part, at: now } })),
        ];
        const state = events.reduce(creditsDecider.evolve, creditsDecider.initialState());
        for (const part of parts) {
          expect(creditsDecider.decide({ type: 'RefundCredits', data: { jobId: 'j', amount: part, now } }, state)).toEqual([]);
        }
      }),
    );
  });
});
