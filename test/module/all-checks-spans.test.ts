/**
 * all-checks gives every check its own trace span (what the Dagger TUI and
 * Cloud show live), observed through a real OpenTelemetry provider while the
 * function runs through the SDK against the recording engine.
 */
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type RecordingEngine, startRecordingEngine } from "../harness/engine.js";
import { checkoutContents } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { scanModule } from "../harness/scan.js";
import { MODULE_FILES as files } from "./module-files.js";

const exporter = new InMemorySpanExporter();
let engine: RecordingEngine;
beforeAll(async () => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  engine = await startRecordingEngine();
  engine.answer("exists", true);
  engine.answer("contents", checkoutContents());
  await scanModule(files);
});
afterAll(async () => {
  trace.disable();
  await engine.stop();
});

describe("allChecks tracing", () => {
  it("runs each check in a span named after it", async () => {
    const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
    await invokeFunction({ files, fnName: "allChecks", parentState: state });
    const names = exporter.getFinishedSpans().map((s) => s.name).filter((n) => n.startsWith("check ")).sort();
    expect(names).toHaveLength(9);
    const expected = ["build-wheel", "docs", "flash-integration", "lint", "test:py-?311", "test:py-?312", "test:py-?313", "test:py-?314", "typecheck"];
    expected.forEach((name, i) => expect(names[i]).toMatch(new RegExp(`^check ${name}$`)));
  });
});
