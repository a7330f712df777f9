/**
 * @module The api folder's public surface: `createApp(deps)`, the backend port and the
 * metrics object. Pure.
 */
export { type ApiDeps, createApp, DEFAULT_MAX_BODY_BYTES } from "./app.ts";
export { constantTimeEqual } from "./auth.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
export type * from "../contract/index.ts";
// the API's own reading of a request body, for `aria verify` (the request a client kept is
// converted exactly as the server converted it)
export { chatCompletionBody, completionBody, toChatRequest, toTextRequest } from "./schemas.ts";
