/**
 * `all-checks`: every check and build of the jobs above runs (none replaced,
 * none skipped by another's failure; deploy-integration on images built in
 * the same run), plus lint, whose contract its owner
 * keeps in the lint tests; the iPXE, media and e2e checks are held by their
 * own module tests (ipxe, media, pxe, usb).
 */
import { BUILD_WHEEL } from "./build-wheel.js";
import type { JobContract } from "./contract.js";
import { DEPLOY_INTEGRATION } from "./deploy-integration.js";
import { DOCS } from "./docs.js";
import { FLASH_INTEGRATION } from "./flash-integration.js";
import { TEST_LEGS } from "./test.js";
import { TYPECHECK } from "./typecheck.js";

export const ALL_CHECKS = {
  /** Jobs whose own contract every all-checks run must meet. */
  jobs: [...TEST_LEGS, TYPECHECK, FLASH_INTEGRATION, DEPLOY_INTEGRATION, BUILD_WHEEL, DOCS] as JobContract[],
} as const;
