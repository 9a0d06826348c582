import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/**
 * Aborts when the app closes, so long requests (event streams, `wait: true`) end at once instead
 * of holding the server open; a stream's client reconnects elsewhere with Last-Event-ID.
 */
@Injectable()
export class AppShutdown implements OnModuleDestroy {
  private readonly controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  onModuleDestroy(): void {
    this.controller.abort();
  }
}
