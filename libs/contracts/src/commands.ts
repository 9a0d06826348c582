import type { ErrorCode } from './errors';

export const ROLES = ['member', 'curator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who asks: resolved by the gateway from the presented key. */
export interface Principal {
  orgId: string;
  userId: string;
  role: Role;
  keyId: string;
}

/** A command sent gateway -> owning service (NATS request/reply, or a call in process). */
export interface CommandEnvelope<Payload = unknown> {
  principal: Principal;
  correlationId: string;
  idempotencyKey?: string;
  payload: Payload;
}

/** Errors cross the wire as values; the caller turns them back into DomainErrors. */
export type CommandReply<Result = unknown> =
  | { ok: true; value: Result }
  | { ok: false; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

/** The commands each service answers: `cmd.<kind>.<name>`. */
export const COMMANDS = {
  submit: 'submit',
  cancel: 'cancel',
  resume: 'resume',
  registerPrinter: 'register-printer',
  listPrinters: 'list-printers',
} as const;
export type CommandName = (typeof COMMANDS)[keyof typeof COMMANDS];
