/** Trace spans around bty-ci's own steps, shown live by the Dagger TUI and Cloud. */
import { getTracer } from "@dagger.io/dagger/telemetry";

import type { CheckWrapper } from "./report.js";

// OpenTelemetry's SpanStatusCode.ERROR (the API package is the SDK's, not ours).
const SPAN_STATUS_ERROR = 2;

/** Runs one check of allChecks in its own span, marked failed when the check fails. */
export const inCheckSpan: CheckWrapper = (name, run) =>
  getTracer().startActiveSpan(`check ${name}`, async (span) => {
    try {
      return await run();
    } catch (err) {
      span.setStatus({ code: SPAN_STATUS_ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });

