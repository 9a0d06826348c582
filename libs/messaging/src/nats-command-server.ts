import { Controller, Module, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, ServerNats } from '@nestjs/microservices';
import { commandSubject, serviceQueueGroup, type CommandEnvelope, type CommandReply } from '@switchyard/contracts';
import { replyTo, type CommandHandlers } from './command-bus';
import { NatsJsonSerializer } from './nats-json-serializer';

/**
 * A Nest controller answering `cmd.<kind>.<command>` for each handler in the map: the map is the
 * one list of a service's commands, so a command added there is served without a decorator to add.
 */
export function commandsController(kind: string, handlers: CommandHandlers, commandRoot?: string): Type<unknown> {
  @Controller()
  class CommandsController {}
  for (const [command, handler] of Object.entries(handlers)) {
    const answer = (envelope: CommandEnvelope): Promise<CommandReply> => replyTo(handler, envelope);
    Object.defineProperty(CommandsController.prototype, command, { value: answer, writable: true, configurable: true });
    const descriptor = Object.getOwnPropertyDescriptor(CommandsController.prototype, command) as PropertyDescriptor;
    MessagePattern(commandSubject(kind, command, commandRoot))(CommandsController.prototype, command, descriptor);
    Payload()(CommandsController.prototype, command, 0);
  }
  return CommandsController;
}

/**
 * Nest's NATS server, less an exception per command: Nest finds a message's handler by JSON.parse
 * of its subject first, in case the pattern was an object, and ours are plain (`cmd.print.submit`),
 * so every command threw and caught a SyntaxError, stack trace and all: 2 % of the print service's
 * CPU under load. A plain subject is its own route.
 */
class CommandSubjectServer extends ServerNats {
  protected override getRouteFromPattern(pattern: string): string {
    return this.normalizePattern(pattern);
  }
}

export interface CommandServerOptions {
  kind: string;
  handlers: CommandHandlers;
  servers: string[];
  /** The installation's command subject root (NATS_COMMAND_ROOT). */
  commandRoot?: string;
  /** The NATS connection's name, as monitoring shows it. */
  name?: string;
}

/** A service's commands on NATS request/reply, in the service's queue group, listening. */
export async function startCommandServer(options: CommandServerOptions): Promise<INestMicroservice> {
  @Module({ controllers: [commandsController(options.kind, options.handlers, options.commandRoot)] })
  class CommandsModule {}
  const app = await NestFactory.createMicroservice(CommandsModule, {
    strategy: new CommandSubjectServer({
      servers: options.servers,
      queue: serviceQueueGroup(options.kind),
      name: options.name ?? `${options.kind}-${process.pid}`,
      serializer: new NatsJsonSerializer(),
    }),
    logger: ['error', 'warn'],
  });
  await app.listen();
  return app;
}
