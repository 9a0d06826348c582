import {
  DomainError,
  isDomainError,
  type CommandEnvelope,
  type CommandName,
  type CommandReply,
} from '@switchyard/contracts';

/** Sends a command to the service that owns a kind and returns its result, or throws its DomainError. */
export interface CommandBus {
  send<Result>(service: string, command: CommandName, envelope: CommandEnvelope): Promise<Result>;
}

export type CommandHandler = (envelope: CommandEnvelope<never>) => Promise<unknown>;
export type CommandHandlers = Partial<Record<CommandName, CommandHandler>>;

/** A handler's outcome as a reply value: errors cross the wire as data, never as exceptions. */
export async function replyTo(handler: CommandHandler | undefined, envelope: CommandEnvelope): Promise<CommandReply> {
  if (!handler) return { ok: false, error: { code: 'NOT_FOUND', message: 'no such command' } };
  try {
    return { ok: true, value: await handler(envelope as CommandEnvelope<never>) };
  } catch (error) {
    if (isDomainError(error)) {
      return { ok: false, error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } };
    }
    // An unexpected failure is the service's to log; the caller learns only that it failed.
    return { ok: false, error: { code: 'INTERNAL', message: 'the service failed to handle the command' } };
  }
}

export function unwrapReply<Result>(reply: CommandReply): Result {
  if (reply.ok) return reply.value as Result;
  throw new DomainError(reply.error.code, reply.error.message, reply.error.details);
}

/**
 * Embedded mode: commands are calls in this process. Envelopes and replies go through JSON, as on
 * the wire, so both modes see the same values (dates as strings, no shared objects).
 */
export class InProcessCommandBus implements CommandBus {
  private readonly services = new Map<string, CommandHandlers>();

  register(service: string, handlers: CommandHandlers): this {
    this.services.set(service, handlers);
    return this;
  }

  async send<Result>(service: string, command: CommandName, envelope: CommandEnvelope): Promise<Result> {
    const handlers = this.services.get(service);
    if (!handlers) throw new DomainError('SERVICE_UNAVAILABLE', `no ${service} service in this process`);
    const reply = await replyTo(handlers[command], JSON.parse(JSON.stringify(envelope)) as CommandEnvelope);
    return unwrapReply<Result>(JSON.parse(JSON.stringify(reply)) as CommandReply);
  }
}
