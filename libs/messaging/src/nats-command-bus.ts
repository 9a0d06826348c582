import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import {
  commandSubject,
  DomainError,
  type CommandEnvelope,
  type CommandName,
  type CommandReply,
} from '@switchyard/contracts';
import { unwrapReply, type CommandBus } from './command-bus';
import { NatsJsonSerializer } from './nats-json-serializer';

export interface NatsCommandBusOptions {
  servers: string[];
  /** Every request has one; a service that does not answer in time is SERVICE_UNAVAILABLE. */
  timeoutMs: number;
  name?: string;
  /** The installation's command subject root (NATS_COMMAND_ROOT). */
  commandRoot?: string;
}

/** Distributed mode: commands as NATS request/reply through Nest's NATS transport. */
export class NatsCommandBus implements CommandBus {
  private readonly client: ClientProxy;

  constructor(private readonly options: NatsCommandBusOptions) {
    this.client = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: {
        servers: options.servers,
        name: options.name ?? 'switchyard-gateway',
        maxReconnectAttempts: -1,
        serializer: new NatsJsonSerializer(),
      },
    });
  }

  connect(): Promise<unknown> {
    return this.client.connect();
  }

  async send<Result>(service: string, command: CommandName, envelope: CommandEnvelope): Promise<Result> {
    const subject = commandSubject(service, command, this.options.commandRoot);
    let reply: CommandReply;
    try {
      reply = await firstValueFrom(this.client.send<CommandReply>(subject, envelope).pipe(timeout(this.options.timeoutMs)));
    } catch (error) {
      if (error instanceof TimeoutError) {
        throw new DomainError('SERVICE_UNAVAILABLE', `the ${service} service did not answer within ${this.options.timeoutMs} ms`);
      }
      // No responder, a dropped connection: the caller may retry (with the same Idempotency-Key).
      throw new DomainError('SERVICE_UNAVAILABLE', `the ${service} service is not reachable`, { cause: String(error) });
    }
    return unwrapReply<Result>(reply);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
