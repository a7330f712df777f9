/**
 * @module The contract folder's public surface: the completion contract every backend
 * implements and the API, the dashboard and the peer network consume (completion.ts). Types
 * only; pure. It imports no other folder but generation's types, so no folder depends on the
 * HTTP layer to speak to a backend.
 */
export type * from "./completion.ts";
