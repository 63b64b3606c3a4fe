/**
 * The recording engine of a module test file (or describe block), as vitest
 * hooks: started in beforeAll, stopped in afterAll (which gives
 * DAGGER_SESSION_PORT/TOKEN back as they were), reset before every test and
 * given the answers every test of the file starts from.
 *
 * Test files of a worker share one process and module graph (the module
 * project runs with `isolate: false`, docs/decisions.md), so an engine or
 * session variable left behind would reach the next file; the project's setup
 * (setup.ts) fails a file that leaves either.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";

import { answerModuleCi } from "./ci-files.js";
import { type RecordingEngine, startRecordingEngine } from "./engine.js";
import { scanModule } from "./scan.js";

export interface RecordingEngineSetup {
  /**
   * Module source files to scan in beforeAll, so the SDK's scan (seconds on a
   * busy machine; cached for the worker's later files) counts against the
   * hook timeout rather than the first test's.
   */
  scan?: string[];
  /**
   * Called after each reset, before every test: the answers the file's tests
   * start from (and any per-test state of the file to reset with them).
   */
  answers?: (engine: RecordingEngine) => void;
}

/**
 * Register the hooks and return the engine. The engine exists from beforeAll
 * to afterAll; the returned object stands for it, so a file can keep it in a
 * `const` and use it in its hooks, tests and helpers.
 */
export function useRecordingEngine(setup: RecordingEngineSetup = {}): RecordingEngine {
  let running: RecordingEngine | undefined;
  const current = (): RecordingEngine => {
    if (!running) throw new Error("the recording engine runs from beforeAll to afterAll: use it in hooks and tests only");
    return running;
  };

  beforeAll(async () => {
    running = await startRecordingEngine();
    if (setup.scan) await scanModule(setup.scan);
  });
  afterAll(async () => {
    const engine = running;
    running = undefined;
    await engine?.stop();
  });
  beforeEach(() => {
    const engine = current();
    engine.reset();
    // The module's own ci/ as the engine lists it (the media builds list it, D70).
    answerModuleCi(engine);
    setup.answers?.(engine);
  });

  return new Proxy({} as RecordingEngine, { get: (_, key) => Reflect.get(current(), key) });
}
