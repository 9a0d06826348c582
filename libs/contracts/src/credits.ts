import { z } from 'zod';

const at = z.iso.datetime({ offset: true });
const amount = z.number().int().positive();

/** An organization's credits live in their own stream: `credits-<orgId>`. */
export const creditsStreamId = (orgId: string): string => `credits-${orgId}`;

export const creditsGrantedSchema = z.object({
  type: z.literal('CreditsGranted'),
  data: z.object({ amount, by: z.string(), reason: z.string().optional(), at }),
});
/** Charged for a job, in the same transaction as the job's submission. */
export const creditsDebitedSchema = z.object({
  type: z.literal('CreditsDebited'),
  data: z.object({ jobId: z.string(), amount, at }),
});
/** Given back for what a job could not deliver, in the same transaction as the completion that shows it. */
export const creditsRefundedSchema = z.object({
  type: z.literal('CreditsRefunded'),
  data: z.object({ jobId: z.string(), amount, reason: z.string().optional(), at }),
});

export const creditEventSchema = z.discriminatedUnion('type', [creditsGrantedSchema, creditsDebitedSchema, creditsRefundedSchema]);
export type CreditEvent = z.infer<typeof creditEventSchema>;
export const CREDIT_EVENT_TYPES = creditEventSchema.options.map((option) => option.shape.type.value);

export const grantCreditsSchema = z.object({
  amount: z.number().int().positive().max(1_000_000_000),
  reason: z.string().max(200).optional(),
});
