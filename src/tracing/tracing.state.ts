/**
 * Whether the OpenTelemetry SDK runs in this process. Set once, before any module of the service
 * is loaded (tracing.bootstrap.ts); the span hooks read it first so that with tracing off they
 * cost one branch and allocate nothing.
 */
export const tracingState: { enabled: boolean; shutdown: () => Promise<void> } = {
  enabled: false,
  shutdown: () => Promise.resolve(),
};

/** An endpoint for traces is what turns tracing on (DESIGN §14); OTEL_SDK_DISABLED still wins. */
export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return Boolean(endpoint?.trim()) && env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true';
}

/** Flushes the spans still buffered; bounded, so that a collector that is away cannot hold an exit. */
export async function flushTracing(timeoutMs = 2000): Promise<void> {
  if (!tracingState.enabled) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    tracingState.shutdown().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref())),
  ]);
  clearTimeout(timer);
}
