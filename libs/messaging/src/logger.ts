/** The slice of a pino logger this lib writes to; a pino Logger fits as is. */
export interface MessagingLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

const ignore = (): void => undefined;

export const silentLogger: MessagingLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
