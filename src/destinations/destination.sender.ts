import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
 * Sends one event to one destination and says what the answer means. node:http(s) with a
 * keep-alive agent per destination (at most maxInFlight sockets): about a third of the CPU of
 * Node's fetch per request, which is what a destination costs. Redirects are never followed (a 3xx
 * is a failure: the signature and the body must not travel to another address); each request has
 * its timeoutMs, from the start to the end of the answer; the body is the stored envelope's exact
 * text.
 */
@Injectable()
export class DestinationSender implements OnApplicationShutdown {
  /** Per destination: its agent, and what it was made for (a reload may change the URL or the slots). */
  private readonly agents = new Map<string, { made: string; agent: HttpAgent }>();

  constructor(private readonly metrics: DestinationMetrics) {}

  onApplicationShutdown(): void {
    for (const { agent } of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

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
      const timeout = AbortSignal.timeout(destination.timeoutMs);
      try {
        const answer = await this.post(destination, headers, event.payload, timeout);
        result = resultOf(answer.status, answer.retryAfter);
        return answer.status;
      } catch (err) {
        result = failureOf(err, destination.timeoutMs, timeout.aborted);
        return null;
      }
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const outcome = result ?? failureOf(new Error('no result'), destination.timeoutMs, false);
    this.metrics.requestSeconds.observe({ destination: destination.name }, seconds);
    this.metrics.attempts.inc({ destination: destination.name, result: labelOf(outcome) });
    return outcome;
  }

  /** One POST; resolves once the whole answer is in (its body is read and dropped, so the socket is reused). */
  private post(
    destination: Destination,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
  ): Promise<{ status: number; retryAfter: string | null }> {
    const url = new URL(destination.url);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const payload = Buffer.from(body, 'utf8');
    return new Promise((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method: 'POST',
          agent: this.agentOf(destination, url),
          headers: { ...headers, 'content-length': String(payload.length) },
          signal,
        },
        (response) => {
          const status = response.statusCode ?? 0;
          const retryAfter = response.headers['retry-after'] ?? null;
          response.on('error', reject);
          response.on('end', () => resolve({ status, retryAfter }));
          response.resume();
        },
      );
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }

  private agentOf(destination: Destination, url: URL): HttpAgent {
    const made = `${url.protocol}|${destination.maxInFlight}`;
    const current = this.agents.get(destination.name);
    if (current?.made === made) return current.agent;
    current?.agent.destroy();
    const options = { keepAlive: true, maxSockets: destination.maxInFlight };
    const agent = url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    this.agents.set(destination.name, { made, agent });
    return agent;
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
