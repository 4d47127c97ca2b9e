import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { HttpConfig } from '../config/config.slices';
import { IntakeActivity } from '../lifecycle/intake-activity';
import { Metrics } from '../metrics/metrics.service';

/** What one admitted request holds; `release` gives it back (once, however often it is called). */
export interface Admission {
  /** The body turned out larger than reserved (no Content-Length): hold the difference too. */
  grow(bytes: number): void;
  release(): void;
}

/**
 * Admission control for POST /webhook: a bound on the body bytes and on the requests this process
 * holds at once, from the start of the body's read until the answer is written. A request that
 * would pass either bound is refused at once (503 with Retry-After, before its body is read), so an
 * overload costs the sender a fast retry instead of every request slowing past Dotdigital's 10 s,
 * and concurrent large bodies cannot take the process's memory.
 */
@Injectable()
export class IntakeAdmission {
  private bytes = 0;

  constructor(
    private readonly config: HttpConfig,
    private readonly activity: IntakeActivity,
    { registry }: Metrics,
  ) {
    const bytes: Gauge = new Gauge({
      name: 'webhook_intake_bytes_in_flight',
      help: 'Body bytes held by POST /webhook requests in flight (bounded by INTAKE_MAX_BYTES).',
      registers: [registry],
      collect: () => {
        bytes.set(this.bytes);
      },
    });
    const requests: Gauge = new Gauge({
      name: 'webhook_intake_requests_in_flight',
      help: 'POST /webhook requests in flight (bounded by INTAKE_MAX_REQUESTS).',
      registers: [registry],
      collect: () => {
        requests.set(this.activity.inFlight);
      },
    });
  }

  /** Reserves `bytes` (the declared length; 0 when unknown) and a request slot, or says why not. */
  admit(bytes: number): Admission | string {
    const requests = this.activity.inFlight;
    if (requests >= this.config.maxRequestsInFlight)
      return `this instance has ${requests} requests in flight (INTAKE_MAX_REQUESTS ${this.config.maxRequestsInFlight})`;
    if (this.bytes + bytes > this.config.maxBytesInFlight)
      return `this instance holds ${this.bytes} body bytes in flight; ${bytes} more would pass INTAKE_MAX_BYTES (${this.config.maxBytesInFlight})`;
    this.activity.enter();
    this.bytes += bytes;
    let held = bytes;
    let released = false;
    return {
      grow: (more) => {
        if (released) return;
        held += more;
        this.bytes += more;
      },
      release: () => {
        if (released) return;
        released = true;
        this.activity.leave();
        this.bytes -= held;
      },
    };
  }
}
