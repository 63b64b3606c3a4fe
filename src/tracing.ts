/** Trace spans around bty-ci's own steps, shown live by the Dagger TUI and Cloud. */
import { getTracer } from "@dagger.io/dagger/telemetry";

import type { CheckWrapper } from "./report.js";

/**
 * Runs one check of allChecks in its own span `check <name>`. The SDK's
 * startActiveSpan ends the span and marks it failed when the check throws.
 */
export const inCheckSpan: CheckWrapper = (name, run) => getTracer().startActiveSpan(`check ${name}`, () => run());
