import { z } from 'zod';
import { DomainError } from '@switchyard/contracts';

export const issuesOf = (error: z.ZodError): { path: string; message: string }[] =>
  error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));

/** Parses a body, query or header set with its schema; a failure is VALIDATION_FAILED naming the field. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, value: unknown, what: string): z.infer<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = issuesOf(parsed.error);
  const first = issues[0];
  const where = first?.path ? `${what}.${first.path}` : what;
  throw new DomainError('VALIDATION_FAILED', `${where}: ${first?.message ?? 'invalid'}`, { issues });
}

/** `Idempotency-Key`: a retry with the same key returns the same job. */
export const idempotencyKeySchema = z.string().min(1).max(255).optional();
