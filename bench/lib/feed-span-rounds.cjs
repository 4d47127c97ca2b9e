// Run by bench/feed-spans.ts as `node bench/lib/feed-span-rounds.cjs <dist> <rounds>`: rounds of 500
// events through the built relay's traceFeedRound (the broker's part replaced by one turn of the
// event loop), with tracing on when OTEL_EXPORTER_OTLP_ENDPOINT is set. Prints one JSON line: the
// process's CPU for the measured rounds, until every span was exported (the SDK's shutdown flushes).
const { setImmediate } = require('node:timers');

const [dist, roundsArgument] = process.argv.slice(2);
require(`${dist}/tracing/tracing.bootstrap`);
const { traceFeedRound } = require(`${dist}/tracing/tracing.spans`);
const { flushTracing } = require(`${dist}/tracing/tracing.state`);

const ROUND = 500;
const WARM_UP = 20;
const rounds = Number(roundsArgument);
const hex = (n, width) => n.toString(16).padStart(width, '0');

// Where each message goes, in the shape of every build: `target` as before 2026-12-08's last change.
const TARGET = { exchange: 'webhooks.events', routingKey: 'applied.message.delivered' };

function round(r) {
  return Array.from({ length: ROUND }, (_, i) => ({
    exchange: TARGET.exchange,
    routingKey: TARGET.routingKey,
    target: TARGET,
    event: {
      eventId: `${hex(r, 8)}-${hex(i, 4)}-4000-8000-${hex(r * ROUND + i, 12)}`,
      deliveryId: `dlv-${hex(r, 12)}`,
      // Each event stored with the trace of its POST (parentbased_always_on samples its children).
      traceparent: `00-${hex(r * ROUND + i + 1, 32)}-${hex(r + 1, 16)}-01`,
    },
    replay: false,
    properties: { headers: { 'x-event-id': 'e' } },
  }));
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

(async () => {
  for (let r = 0; r < WARM_UP; r++) await traceFeedRound(round(r), turn);
  const started = process.cpuUsage();
  for (let r = WARM_UP; r < WARM_UP + rounds; r++) await traceFeedRound(round(r), turn);
  await flushTracing(30_000);
  const cpu = process.cpuUsage(started);
  const result = { cpuUs: cpu.user + cpu.system, spans: (WARM_UP + rounds) * ROUND, measured: rounds * ROUND };
  process.stdout.write(`${JSON.stringify(result)}\n`);
})();
