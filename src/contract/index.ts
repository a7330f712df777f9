/**
 * @module The contract folder's public surface: the completion contract every backend
 * implements and the API, the dashboard and the peer network consume (completion.ts), and the
 * consent metering of one generation (metered.ts). Pure. It imports no other folder but
 * generation's types, so no folder depends on the HTTP layer to speak to a backend.
 */
export type * from "./completion.ts";
export { metered } from "./metered.ts";
export { usesTools } from "./tools.ts";
export { withComplete } from "./wrap.ts";
