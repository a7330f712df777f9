/** @module The node identity: ed25519 key pair, node id, signing and verification. */
export {
  identityFromSecret,
  isNodeId,
  newSecretKey,
  type NodeId,
  type NodeIdentity,
  verifySignature,
} from "./identity.ts";
export { IDENTITY_FILE, identityPath, loadOrCreateIdentity } from "./keystore.ts";
