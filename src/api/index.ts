/**
 * @module The api folder's public surface: `createApp(deps)`, the backend port and the
 * metrics object. Pure.
 */
export { type ApiDeps, createApp, DEFAULT_MAX_BODY_BYTES } from "./app.ts";
export { constantTimeEqual } from "./auth.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
export type * from "../contract/index.ts";
