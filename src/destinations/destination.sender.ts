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
  /** Per destination: its parsed address and agent, and what they were made for (a reload may change either). */
  private readonly routes = new Map<string, Route>();

  constructor(private readonly metrics: DestinationMetrics) {}

  onApplicationShutdown(): void {
    for (const { agent } of this.routes.values()) agent.destroy();
    this.routes.clear();
  }

  async send(destination: Destination, event: OwedEvent): Promise<AttemptResult> {
    const headers = requestHeaders(destination, event);
    const route = this.routeOf(destination);
    const started = process.hrtime.bigint();
    let result: AttemptResult | undefined;
    const target = {
      destination: destination.name,
      url: route.shown,
      eventId: event.eventId,
      traceparent: event.traceparent,
    };
    await traceDestinationRequest(target, headers, async () => {
      const timeout = AbortSignal.timeout(destination.timeoutMs);
      try {
        const answer = await post(route, headers, event.payload, timeout);
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

  private routeOf(destination: Destination): Route {
    const made = `${destination.url}|${destination.maxInFlight}`;
    const current = this.routes.get(destination.name);
    if (current?.made === made) return current;
    const url = new URL(destination.url);
    const https = url.protocol === 'https:';
    // A new address keeps the agent (requests under way finish); new slots or scheme need a new one.
    const keep = current?.agentFor === `${url.protocol}|${destination.maxInFlight}`;
    if (current && !keep) current.agent.destroy();
    const options = { keepAlive: true, maxSockets: destination.maxInFlight };
    const route: Route = {
      made,
      url,
      shown: `${url.origin}${url.pathname}`,
      agentFor: `${url.protocol}|${destination.maxInFlight}`,
      agent: keep ? current.agent : https ? new HttpsAgent(options) : new HttpAgent(options),
      request: https ? httpsRequest : httpRequest,
    };
    this.routes.set(destination.name, route);
    return route;
  }
}

/** A destination's address parsed once, with its keep-alive agent (at most maxInFlight sockets). */
interface Route {
  made: string;
  url: URL;
  /** The scheme and slots the agent was made for. */
  agentFor: string;
  /** The address without its query (which may carry a token): for spans. */
  shown: string;
  agent: HttpAgent;
  request: typeof httpRequest;
}

/** One POST; resolves once the whole answer is in (its body is read and dropped, so the socket is reused). */
function post(
  route: Route,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<{ status: number; retryAfter: string | null }> {
  const payload = Buffer.from(body, 'utf8');
  return new Promise((resolve, reject) => {
    const outgoing = route.request(
      route.url,
      {
        method: 'POST',
        agent: route.agent,
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
