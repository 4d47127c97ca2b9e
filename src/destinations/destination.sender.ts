import { Injectable } from '@nestjs/common';
import { traceDestinationRequest } from '../tracing/tracing.spans';
import { DestinationMetrics, type AttemptLabel } from './destination.metrics';
import {
  failureOf,
  requestHeaders,
  resultOf,
  type AttemptResult,
  type OwedEvent,
} from './destination.request';
import type { Destination } from './destinations-file';

/**
 * Sends one event to one destination and says what the answer means. Node's fetch, with redirects
 * never followed (a 3xx is a failure: the signature and the body must not travel to another
 * address) and a timeout per request; the body is the stored envelope's exact text.
 */
@Injectable()
export class DestinationSender {
  constructor(private readonly metrics: DestinationMetrics) {}

  async send(destination: Destination, event: OwedEvent): Promise<AttemptResult> {
    const headers = requestHeaders(destination, event);
    const started = process.hrtime.bigint();
    let result: AttemptResult | undefined;
    const target = {
      destination: destination.name,
      url: withoutQuery(destination.url),
      eventId: event.eventId,
      traceparent: event.traceparent,
    };
    await traceDestinationRequest(target, headers, async () => {
      try {
        const response = await fetch(destination.url, {
          method: 'POST',
          headers,
          body: event.payload,
          redirect: 'manual',
          signal: AbortSignal.timeout(destination.timeoutMs),
        });
        // Only the status matters; the body is dropped so the connection can be reused.
        await response.body?.cancel().catch(() => undefined);
        result = resultOf(response.status, response.headers.get('retry-after'));
        return response.status;
      } catch (err) {
        result = failureOf(err, destination.timeoutMs);
        return null;
      }
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const outcome = result ?? failureOf(new Error('no result'), destination.timeoutMs);
    this.metrics.requestSeconds.observe({ destination: destination.name }, seconds);
    this.metrics.attempts.inc({ destination: destination.name, result: labelOf(outcome) });
    return outcome;
  }
}

function labelOf(result: AttemptResult): AttemptLabel {
  switch (result.kind) {
    case 'delivered':
      return 'delivered';
    case 'gone':
      return 'gone';
    case 'throttled':
      return 'throttled';
    case 'failed':
      if (result.timeout) return 'timeout';
      return result.status === null ? 'network_error' : 'http_error';
  }
}

function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
