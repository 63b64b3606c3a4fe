/** allChecks' span wrapper, observed through a real OpenTelemetry provider. */
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, it } from "vitest";

import { runChecks } from "../../src/checks/report.js";
import { inCheckSpan } from "../../src/checks/dagger.js";

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
afterAll(() => trace.disable());

describe("inCheckSpan", () => {
  it("gives every check an ended span, failed ones marked as errors", async () => {
    const results = await runChecks(
      { lint: async () => "ok", "test:py314": async () => Promise.reject(new Error("2 failed")) },
      { wrap: inCheckSpan },
    );
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    const spans = Object.fromEntries(exporter.getFinishedSpans().map((s) => [s.name, s.status]));
    expect(spans).toEqual({
      "check lint": { code: SpanStatusCode.UNSET },
      "check test:py314": { code: SpanStatusCode.ERROR, message: "2 failed" },
    });
  });
});
