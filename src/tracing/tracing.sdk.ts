import { NodeSDK } from '@opentelemetry/sdk-node';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import type { ServerResponse } from 'node:http';

/**
 * The batch processor's defaults here, where the SDK's (a queue of 2,048, exports of 512) do not fit
 * a relay that ends up to 2,000 spans at once: the queue holds two rounds and the rest of the traffic,
 * and an export carries a round, so the one export in flight keeps up (with 512 a burst outran it and
 * lost spans) and each span costs about a quarter less (bench:feed-spans). Their variables still win.
 */
const BATCH_DEFAULTS = { OTEL_BSP_MAX_QUEUE_SIZE: '8192', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048' };

/** Routes polled by machines: a span for each probe and scrape would drown the deliveries. */
const UNTRACED = /^\/(health|metrics|favicon\.ico)(\/|\?|$)/;

/**
 * Starts the OpenTelemetry SDK for traces only, configured by its standard OTEL_* variables
 * (endpoint, protocol, headers, sampler, service name, resource attributes, batch processor).
 * Loaded only when an endpoint is set (tracing.bootstrap.ts). Returns its shutdown, which flushes.
 *
 * Instrumentations kept: http (the request span, continuing an incoming traceparent), express (the
 * route that names it), pg (each statement, only inside a span of ours: the relay's idle polling
 * makes no traces) and pino (trace_id and span_id on every log line written inside a span). Not
 * amqplib: its per-message consume spans do not fit a consumer that stores deliveries in batches,
 * and its publish spans would repeat ours (tracing.spans.ts), which carry what it cannot know.
 */
export function startTracing(): () => Promise<void> {
  for (const [name, value] of Object.entries(BATCH_DEFAULTS))
    if (!process.env[name]?.trim()) process.env[name] = value;
  const sdk = new NodeSDK({
    // A name given by OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES is read by the SDK and wins.
    ...(namedByEnvironment() ? {} : { serviceName: 'omnichannel-webhook-receiver' }),
    // Traces only: without these the SDK would also start OTLP metric and log exporters.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED.test(request.url ?? ''),
        // Outgoing HTTP today is only the exporter's own; a destination request gets a span of ours.
        ignoreOutgoingRequestHook: () => true,
        // The delivery id the request was given (X-Delivery-Id), to find the trace of a delivery.
        applyCustomAttributesOnSpan: (span, _request, response) => {
          const deliveryId = (response as ServerResponse).getHeader?.('x-delivery-id');
          if (typeof deliveryId === 'string') span.setAttribute('webhook.delivery_id', deliveryId);
        },
      }),
      // Only the route, on the request's span (`POST /webhook`, http.route). No layer spans: under
      // Express 5 each of Nest's route middlewares is an unnamed "request handler" (about ten per
      // request), which told an operator nothing and cost a span each.
      new ExpressInstrumentation({
        ignoreLayersType: [
          ExpressLayerType.MIDDLEWARE,
          ExpressLayerType.REQUEST_HANDLER,
          ExpressLayerType.ROUTER,
        ],
      }),
      new PgInstrumentation({ requireParentSpan: true }),
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  return () => sdk.shutdown();
}

function namedByEnvironment(): boolean {
  const { OTEL_SERVICE_NAME: name, OTEL_RESOURCE_ATTRIBUTES: attributes } = process.env;
  return Boolean(name?.trim()) || /(^|,)\s*service\.name\s*=/.test(attributes ?? '');
}
