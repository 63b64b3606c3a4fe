/**
 * all-checks gives every check its own trace span (what the Dagger TUI and
 * Cloud show live), observed through a real OpenTelemetry provider while the
 * function runs through the SDK against the recording engine.
 */
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ALL_CHECK_NAMES, ALL_CHECKS_ARGS, answerCheckout } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const exporter = new InMemorySpanExporter();
useRecordingEngine({ scan: files, answers: answerCheckout });
beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});
afterAll(() => trace.disable());

describe("allChecks tracing", () => {
  it("runs each check in a span named after it", async () => {
    const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
    await invokeFunction({ files, fnName: "allChecks", args: ALL_CHECKS_ARGS, parentState: state });
    const names = exporter.getFinishedSpans().map((s) => s.name).filter((n) => n.startsWith("check ")).sort();
    expect(names).toEqual(ALL_CHECK_NAMES.map((n) => `check ${n}`).sort());
  });
});
