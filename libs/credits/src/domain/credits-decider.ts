import { DomainError, type CreditEvent } from '@switchyard/contracts';
import type { Decider } from '@switchyard/jobs';
import type { CreditsCommand } from './credits-commands';

type CommandOf<T extends CreditsCommand['type']> = Extract<CreditsCommand, { type: T }>;

/** What one job was charged and given back. */
export interface JobCharge {
  readonly debited: number;
  readonly refunded: number;
  /** Each refund's amount, in order: a repeat of one after a full refund is recognised as a repeat. */
  readonly refunds: readonly number[];
}

/**
 * An organization's credits. Invariants: balance = granted - debited + refunded, balance >= 0, and
 * per job refunded <= debited. `jobs` may be narrowed to the jobs a decision is about: decide only
 * looks at the job its command names (see `narrowToJob`).
 */
export interface CreditsState {
  readonly balance: number;
  readonly granted: number;
  readonly debited: number;
  readonly refunded: number;
  readonly jobs: ReadonlyMap<string, JobCharge>;
}

export const NO_CHARGE: JobCharge = { debited: 0, refunded: 0, refunds: [] };

export const initialCreditsState = (): CreditsState => ({ balance: 0, granted: 0, debited: 0, refunded: 0, jobs: new Map() });

export const chargeOf = (state: CreditsState, jobId: string): JobCharge => state.jobs.get(jobId) ?? NO_CHARGE;

const withCharge = (state: CreditsState, jobId: string, charge: JobCharge): ReadonlyMap<string, JobCharge> =>
  new Map(state.jobs).set(jobId, charge);

/** Applies one fact; the log is the truth, so nothing is refused here. */
export function evolveCredits(state: CreditsState, event: CreditEvent): CreditsState {
  switch (event.type) {
    case 'CreditsGranted': {
      const { amount } = event.data;
      return { ...state, balance: state.balance + amount, granted: state.granted + amount };
    }
    case 'CreditsDebited': {
      const { jobId, amount } = event.data;
      const charge = chargeOf(state, jobId);
      return {
        ...state,
        balance: state.balance - amount,
        debited: state.debited + amount,
        jobs: withCharge(state, jobId, { ...charge, debited: charge.debited + amount }),
      };
    }
    case 'CreditsRefunded': {
      const { jobId, amount } = event.data;
      const charge = chargeOf(state, jobId);
      return {
        ...state,
        balance: state.balance + amount,
        refunded: state.refunded + amount,
        jobs: withCharge(state, jobId, {
          debited: charge.debited,
          refunded: charge.refunded + amount,
          refunds: [...charge.refunds, amount],
        }),
      };
    }
    default:
      return state;
  }
}

/**
 * Keeps only `jobId`'s charge (or none): folding a long stream through this stays linear, since the
 * map never holds more than the job being decided and the one an event names.
 */
export const narrowToJob = (state: CreditsState, jobId: string | undefined): CreditsState => {
  const charge = jobId === undefined ? undefined : state.jobs.get(jobId);
  if (state.jobs.size === 0 || (state.jobs.size === 1 && charge !== undefined)) return state;
  return { ...state, jobs: charge === undefined ? new Map() : new Map([[jobId as string, charge]]) };
};

function requireAmount(command: CreditsCommand): number {
  const { amount } = command.data;
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new DomainError('VALIDATION_FAILED', `${command.type}: amount must be a positive whole number, got ${amount}`, {
      field: 'amount',
      amount,
    });
  }
  return amount;
}

function requireJobId(command: CommandOf<'DebitCredits' | 'RefundCredits'>): string {
  const { jobId } = command.data;
  if (typeof jobId !== 'string' || jobId === '') {
    throw new DomainError('VALIDATION_FAILED', `${command.type}: jobId must be a non-empty string`, { field: 'jobId' });
  }
  return jobId;
}

function grant(command: CommandOf<'GrantCredits'>): CreditEvent[] {
  const amount = requireAmount(command);
  const { by, reason, now } = command.data;
  return [{ type: 'CreditsGranted', data: { amount, by, ...(reason === undefined ? {} : { reason }), at: now } }];
}

function debit(command: CommandOf<'DebitCredits'>, state: CreditsState): CreditEvent[] {
  const amount = requireAmount(command);
  const jobId = requireJobId(command);
  const charge = chargeOf(state, jobId);
  // A job is charged once: a retried submission repeats its debit, which changes nothing.
  if (charge.debited > 0) {
    if (charge.debited === amount) return [];
    throw new DomainError('ILLEGAL_TRANSITION', `job ${jobId} was already debited ${charge.debited}, not ${amount}`, {
      jobId,
      debited: charge.debited,
      requested: amount,
    });
  }
  if (amount > state.balance) {
    throw new DomainError('INSUFFICIENT_CREDITS', `job ${jobId} needs ${amount} credits, the balance is ${state.balance}`, {
      balance: state.balance,
      requested: amount,
    });
  }
  return [{ type: 'CreditsDebited', data: { jobId, amount, at: command.data.now } }];
}

function refund(command: CommandOf<'RefundCredits'>, state: CreditsState): CreditEvent[] {
  const amount = requireAmount(command);
  const jobId = requireJobId(command);
  const charge = chargeOf(state, jobId);
  const refundable = charge.debited - charge.refunded;
  // Fully refunded and this amount was one of its refunds: a redelivered completion, not a new refund.
  if (charge.debited > 0 && refundable === 0 && charge.refunds.includes(amount)) return [];
  if (amount > refundable) {
    throw new DomainError(
      'REFUND_EXCEEDS_DEBIT',
      `job ${jobId}: a refund of ${amount} exceeds what is left to refund (${refundable} of ${charge.debited} debited)`,
      { jobId, debited: charge.debited, refunded: charge.refunded, requested: amount },
    );
  }
  const { reason, now } = command.data;
  return [{ type: 'CreditsRefunded', data: { jobId, amount, ...(reason === undefined ? {} : { reason }), at: now } }];
}

export function decideCredits(command: CreditsCommand, state: CreditsState): CreditEvent[] {
  switch (command.type) {
    case 'GrantCredits':
      return grant(command);
    case 'DebitCredits':
      return debit(command, state);
    case 'RefundCredits':
      return refund(command, state);
  }
}

/** The `credits-<orgId>` stream's decider: grants, one debit per job, refunds bounded by that debit. */
export const creditsDecider: Decider<CreditsCommand, CreditEvent, CreditsState> = {
  decide: decideCredits,
  evolve: evolveCredits,
  initialState: initialCreditsState,
};

/** The part of the state a caller shows: the totals. */
export interface CreditBalance {
  balance: number;
  granted: number;
  debited: number;
  refunded: number;
}

export const balanceOf = ({ balance, granted, debited, refunded }: CreditsState): CreditBalance => ({
  balance,
  granted,
  debited,
  refunded,
});
