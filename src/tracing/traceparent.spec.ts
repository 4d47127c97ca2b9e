import { formatTraceparent, spanContextOfTraceparent, traceparentOf } from './traceparent';
import { tracingWanted } from './tracing.state';

describe('traceparentOf', () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('reads a W3C traceparent sent as text or as bytes', () => {
    expect(traceparentOf(valid)).toBe(valid);
    expect(traceparentOf(Buffer.from(valid))).toBe(valid);
  });

  it.each([
    ['absent', undefined],
    ['not text', 42],
    ['upper-case hex', valid.toUpperCase()],
    ['a short trace id', '00-4bf92f3577b34da6-00f067aa0ba902b7-01'],
    ['trailing junk', `${valid}x`],
  ])('ignores a header that is %s', (_, header) => {
    expect(traceparentOf(header)).toBeUndefined();
  });
});

describe('tracingWanted', () => {
  it('is off without an endpoint, or with a blank one', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
  });

  it('is on with the general or the traces endpoint', () => {
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(true);
  });

  it('stays off when OTEL_SDK_DISABLED is true', () => {
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBe(
      false,
    );
  });
});

describe('spanContextOfTraceparent and formatTraceparent', () => {
  it('read a stored traceparent as a remote span context and write one back unchanged', () => {
    const sampled = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(spanContextOfTraceparent(sampled)).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
    });
    expect(formatTraceparent(spanContextOfTraceparent(sampled))).toBe(sampled);
    const unsampled = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    expect(formatTraceparent(spanContextOfTraceparent(unsampled))).toBe(unsampled);
  });
});
