import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import type { SignedBody } from './bodies';

export interface LoadOptions {
  url: string;
  bodies: readonly SignedBody[];
  connections: number;
  durationS: number;
  /** Total requests per second across all connections (open-loop); unset = as fast as possible. */
  overallRate?: number;
  /** Seconds before a request counts as timed out (default 15). */
  timeoutS?: number;
}

export interface LoadOutcome {
  durationS: number;
  ok: number;
  non2xx: number;
  /** Connection errors plus timeouts. */
  errors: number;
  /** Of `errors`, requests not answered within the timeout. */
  timeouts: number;
  statusCodes: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/**
 * autocannon against POST /webhook, rotating through pre-signed bodies (a shared counter, so
 * connections do not all send the same bytes).
 */
export function runLoad(options: LoadOptions): Promise<LoadOutcome> {
  let next = 0;
  const { bodies } = options;
  const connections = options.overallRate
    ? Math.max(1, Math.min(options.connections, options.overallRate))
    : options.connections;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: options.url,
        connections,
        duration: options.durationS,
        overallRate: options.overallRate,
        timeout: options.timeoutS ?? 15,
        requests: [
          {
            method: 'POST',
            path: '/webhook',
            setupRequest: (req) => {
              const signed = bodies[next++ % bodies.length];
              return {
                ...req,
                body: signed.body,
                headers: {
                  ...req.headers,
                  'content-type': 'application/json',
                  'x-comapi-signature': signed.signature,
                },
              };
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const statusCodes: Record<string, number> = {};
        for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
        resolve({
          durationS: result.duration,
          ok: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors, // autocannon counts timeouts among errors too
          timeouts: result.timeouts,
          statusCodes,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          meanMs: result.latency.mean,
          maxMs: result.latency.max,
        });
      },
    );
  });
}

export interface PostAllOutcome {
  durationS: number;
  ok: number;
  non2xx: number;
  errors: number;
}

/**
 * Sends every body exactly once (end-to-end runs need each event id sent once), `concurrency`
 * requests in flight on keep-alive connections. autocannon cannot promise "each body once".
 */
export async function postAll(
  baseUrl: string,
  bodies: readonly SignedBody[],
  concurrency: number,
): Promise<PostAllOutcome> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL('/webhook', baseUrl);
  const outcome: PostAllOutcome = { durationS: 0, ok: 0, non2xx: 0, errors: 0 };
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < bodies.length) {
      const signed = bodies[next++];
      try {
        const status = await post(agent, url, signed);
        if (status >= 200 && status < 300) outcome.ok++;
        else outcome.non2xx++;
      } catch {
        outcome.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  outcome.durationS = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return outcome;
}

function post(agent: Agent, url: URL, signed: SignedBody): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': signed.body.length,
          'x-comapi-signature': signed.signature,
        },
        timeout: 15000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(signed.body);
  });
}
