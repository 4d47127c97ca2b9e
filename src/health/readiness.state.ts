import { Injectable } from '@nestjs/common';

/** Whether this instance is shutting down: /health/ready turns 503 and new deliveries are refused. */
@Injectable()
export class ReadinessState {
  private draining = false;

  get shuttingDown(): boolean {
    return this.draining;
  }

  beginShutdown(): void {
    this.draining = true;
  }
}
