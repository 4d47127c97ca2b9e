import { Injectable } from '@nestjs/common';

/**
 * Where this instance is in its life: running, or shutting down after SIGTERM. Once shutting down,
 * readiness turns false, new deliveries are refused with 503 and answers close their connections.
 */
@Injectable()
export class Lifecycle {
  private shutdownStartedAt: number | null = null;

  get shuttingDown(): boolean {
    return this.shutdownStartedAt !== null;
  }

  beginShutdown(): void {
    this.shutdownStartedAt ??= Date.now();
  }
}
