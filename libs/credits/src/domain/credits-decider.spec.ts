import type { CreditEvent } from '@switchyard/contracts';
import { DeciderSpecification } from '@switchyard/jobs/testing';
import { creditsDecider, evolveCredits, initialCreditsState, narrowToJob } from './credits-decider';

const spec = DeciderSpecification.for(creditsDecider);

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const t = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const granted = (amount: number, s = 0, reason?: string): CreditEvent => ({
  type: 'CreditsGranted',
  data: { amount, by: 'ops', ...(reason === undefined ? {} : { reason }), at: t(s) },
});
const debited = (jobId: string, amount: number, s = 1): CreditEvent => ({ type: 'CreditsDebited', data: { jobId, amount, at: t(s) } });
const refunded = (jobId: string, amount: number, s = 2, reason?: string): CreditEvent => ({
  type: 'CreditsRefunded',
  data: { jobId, amount, ...(reason === undefined ? {} : { reason }), at: t(s) },
});

describe('creditsDecider', () => {
  describe('GrantCredits', () => {
    it('grants to an empty stream', () => {
      spec.given([]).when({ type: 'GrantCredits', data: { amount: 10, by: 'ops', now: t(0) } }).then(granted(10));
    });

    it('keeps the reason', () => {
      spec
        .given(granted(5))
        .when({ type: 'GrantCredits', data: { amount: 3, by: 'ops', reason: 'welcome', now: t(9) } })
        .then(granted(3, 9, 'welcome'));
    });

    it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses an amount of %p', (amount) => {
      spec.given([]).when({ type: 'GrantCredits', data: { amount, by: 'ops', now: t(0) } }).thenThrows('VALIDATION_FAILED');
    });
  });

  describe('DebitCredits', () => {
    it('debits a job up to the whole balance', () => {
      spec.given(granted(10)).when({ type: 'DebitCredits', data: { jobId: 'j1', amount: 10, now: t(1) } }).then(debited('j1', 10));
    });

    it('refuses a debit larger than the balance, saying both', () => {
      spec
        .given([granted(10), debited('j1', 7)])
        .when({ type: 'DebitCredits', data: { jobId: 'j2', amount: 4, now: t(2) } })
        .thenThrows('INSUFFICIENT_CREDITS', (error) => error.details?.['balance'] === 3 && error.details['requested'] === 4);
    });

    it('refuses any debit on an empty stream', () => {
      spec.given([]).when({ type: 'DebitCredits', data: { jobId: 'j1', amount: 1, now: t(1) } }).thenThrows('INSUFFICIENT_CREDITS');
    });

    it('counts refunds into the balance', () => {
      spec
        .given([granted(5), debited('j1', 5), refunded('j1', 2)])
        .when({ type: 'DebitCredits', data: { jobId: 'j2', amount: 2, now: t(3) } })
        .then(debited('j2', 2, 3));
    });

    it('takes a repeated debit of the same amount as done, even with the balance spent', () => {
      spec.given([granted(5), debited('j1', 5)]).when({ type: 'DebitCredits', data: { jobId: 'j1', amount: 5, now: t(3) } }).thenNothing();
    });

    it('refuses a second debit of another amount for the same job', () => {
      spec
        .given([granted(50), debited('j1', 5)])
        .when({ type: 'DebitCredits', data: { jobId: 'j1', amount: 6, now: t(3) } })
        .thenThrows('ILLEGAL_TRANSITION');
    });

    it('does not debit again a job that was debited and fully refunded', () => {
      spec
        .given([granted(50), debited('j1', 5), refunded('j1', 5)])
        .when({ type: 'DebitCredits', data: { jobId: 'j1', amount: 5, now: t(3) } })
        .thenNothing();
    });

    it.each([0, -3, 2.5])('refuses an amount of %p', (amount) => {
      spec.given(granted(10)).when({ type: 'DebitCredits', data: { jobId: 'j1', amount, now: t(1) } }).thenThrows('VALIDATION_FAILED');
    });

    it('refuses an empty job id', () => {
      spec.given(granted(10)).when({ type: 'DebitCredits', data: { jobId: '', amount: 1, now: t(1) } }).thenThrows('VALIDATION_FAILED');
    });
  });

  describe('RefundCredits', () => {
    const charged = [granted(10), debited('j1', 6)];

    it('refunds part of a debit, then the rest', () => {
      spec
        .given(charged)
        .when({ type: 'RefundCredits', data: { jobId: 'j1', amount: 2, reason: 'page 3 failed', now: t(2) } })
        .then(refunded('j1', 2, 2, 'page 3 failed'));
      spec.given([...charged, refunded('j1', 2)]).when({ type: 'RefundCredits', data: { jobId: 'j1', amount: 4, now: t(3) } }).then(refunded('j1', 4, 3));
    });

    it('refuses a refund larger than the debit', () => {
      spec
        .given(charged)
        .when({ type: 'RefundCredits', data: { jobId: 'j1', amount: 7, now: t(2) } })
        .thenThrows('REFUND_EXCEEDS_DEBIT', (error) => error.details?.['debited'] === 6 && error.details['requested'] === 7);
    });

    it('refuses a refund larger than what is left after earlier refunds', () => {
      spec
        .given([...charged, refunded('j1', 4)])
        .when({ type: 'RefundCredits', data: { jobId: 'j1', amount: 3, now: t(3) } })
        .thenThrows('REFUND_EXCEEDS_DEBIT', (error) => error.details?.['refunded'] === 4);
    });

    it('refuses a refund for a job never debited', () => {
      spec.given(granted(10)).when({ type: 'RefundCredits', data: { jobId: 'nope', amount: 1, now: t(2) } }).thenThrows('REFUND_EXCEEDS_DEBIT');
    });

    it('takes a repeated refund after a full refund as done', () => {
      spec.given([...charged, refunded('j1', 6)]).when({ type: 'RefundCredits', data: { jobId: 'j1', amount: 6, now: t(5) } }).thenNothing();
    });

    it('takes a repeat of either of two refunds that together refunded everything as done', () => {
      const full = [...charged, refunded('j1', 2), refunded('j1', 4)];
      spec.given(full).when({ type: 'RefundCredits', data: { jobId: 'j1', amount: 2, now: t(5) } }).thenNothing();
      spec.given(full).when({ type: 'RefundCredits', data: { jobId: 'j1', amount: 4, now: t(5) } }).thenNothing();
    });

    it('refuses another amount after a full refund', () => {
      spec
        .given([...charged, refunded('j1', 6)])
        .when({ type: 'RefundCredits', data: { jobId: 'j1', amount: 1, now: t(5) } })
        .thenThrows('REFUND_EXCEEDS_DEBIT');
    });

    it('does not mix up jobs', () => {
      spec
        .given([granted(10), debited('j1', 3), debited('j2', 3), refunded('j1', 3)])
        .when({ type: 'RefundCredits', data: { jobId: 'j2', amount: 3, now: t(5) } })
        .then(refunded('j2', 3, 5));
    });

    it.each([0, -1, 0.5])('refuses an amount of %p', (amount) => {
      spec.given(charged).when({ type: 'RefundCredits', data: { jobId: 'j1', amount, now: t(2) } }).thenThrows('VALIDATION_FAILED');
    });
  });

  describe('state', () => {
    it('keeps balance = granted - debited + refunded and each job apart', () => {
      const state = [granted(10), debited('j1', 6), debited('j2', 3), refunded('j1', 2)].reduce(evolveCredits, initialCreditsState());
      expect(state).toMatchObject({ balance: 3, granted: 10, debited: 9, refunded: 2 });
      expect(state.jobs.get('j1')).toEqual({ debited: 6, refunded: 2, refunds: [2] });
      expect(state.jobs.get('j2')).toEqual({ debited: 3, refunded: 0, refunds: [] });
    });

    it('decides the same on a state narrowed to the job a command names', () => {
      const events = [granted(10), debited('j1', 6), debited('j2', 3), refunded('j1', 2)];
      const narrowed = events.reduce((state, event) => narrowToJob(evolveCredits(state, event), 'j1'), initialCreditsState());
      expect([...narrowed.jobs.keys()]).toEqual(['j1']);
      const full = events.reduce(evolveCredits, initialCreditsState());
      const refund = { type: 'RefundCredits', data: { jobId: 'j1', amount: 4, now: t(9) } } as const;
      expect(creditsDecider.decide(refund, narrowed)).toEqual(creditsDecider.decide(refund, full));
      expect(narrowed).toMatchObject({ balance: full.balance, granted: full.granted, debited: full.debited, refunded: full.refunded });
    });
  });
});
