import { z } from 'zod';

const now = z.iso.datetime({ offset: true });
const amount = z.number().int().positive();
const jobId = z.string().min(1);

/** An operator (or a purchase) adds credits to an organization. */
export const grantCreditsCommandSchema = z.object({
  type: z.literal('GrantCredits'),
  data: z.object({ amount, by: z.string().min(1), reason: z.string().optional(), now }),
});
/** A job is charged, in the transaction that submits it. */
export const debitCreditsCommandSchema = z.object({
  type: z.literal('DebitCredits'),
  data: z.object({ jobId, amount, now }),
});
/** What a job could not deliver is given back, in the transaction of the completion that shows it. */
export const refundCreditsCommandSchema = z.object({
  type: z.literal('RefundCredits'),
  data: z.object({ jobId, amount, reason: z.string().optional(), now }),
});

export const creditsCommandSchema = z.discriminatedUnion('type', [
  grantCreditsCommandSchema,
  debitCreditsCommandSchema,
  refundCreditsCommandSchema,
]);
export type CreditsCommand = z.infer<typeof creditsCommandSchema>;
export type CreditsCommandType = CreditsCommand['type'];
