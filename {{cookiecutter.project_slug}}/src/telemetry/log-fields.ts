/**
 * The pino mixin: every log line written while a sampled or recording span is active carries
 * `trace_id` and `span_id` (the names the OpenTelemetry log data model uses), so a log line
 * leads to its trace and back. Without the SDK there is never an active span: an empty object.
 */
import { isSpanContextValid, trace } from "@opentelemetry/api";

export function activeTraceFields(): object {
  const span = trace.getActiveSpan();
  // A fresh object each time: pino merges the line's own fields into it.
  if (span === undefined) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
