/**
 * @module The dashboard's ports: plain view models of what the other concerns (ledger,
 * consent/energy, peers, model manager) show in the browser. Types only; pure. Every port is
 * optional: a page whose port is absent says that the feature is not available on this node and
 * never shows made-up data. Adapters from the real modules are written where they are composed
 * (src/node/); the dashboard never imports those modules. Methods may answer synchronously
 * or with a promise.
 */

/** A value now or later. */
export type MaybePromise<T> = T | Promise<T>;

/** The overview's numbers. A `null` number means "not measured on this node". */
export interface NodeStatus {
  nodeId: string;
  /** The model(s) served, comma-separated when several. */
  model: string;
  /** "ready", "loading", or another short word the adapter chooses. */
  status: string;
  /** Generated tokens per decode second over finished completions. */
  tokensPerSecond: number | null;
  /** Completions finished since start. */
  requests: number;
  /** Energy spent since start, in millijoules. */
  energyMj: number | null;
  queueDepth: number;
  activeSequences: number;
  slots: number;
}

/** Where the overview's numbers come from when the lead wires a richer source. */
export interface StatusView {
  status(): MaybePromise<NodeStatus>;
}

/** A contiguous range of transformer layers a peer serves: [start, end) */
export interface LayerRange {
  model: string;
  start: number;
  end: number;
}

/** One peer as the peers page shows it. Every string here came from the network: escape it. */
export interface PeerRow {
  id: string;
  address: string;
  /** Round-trip time of the last ping; null before the first one. */
  latencyMs: number | null;
  models: readonly string[];
  layers: readonly LayerRange[];
  alive: boolean;
  /** This node's audits of the peer's answers (issue 20); absent when it keeps none. */
  audits?: { answers: number; passed: number; failed: number };
}

/** The network as the node sees it (the peer network's overlay; issue 23). */
export interface NetworkRow {
  reachability: "unknown" | "reachable" | "unreachable";
  /** The relay this node is reached through, when it cannot be dialled. */
  relayedBy: string | null;
  nodesKnown: number;
  reachablePeers: number;
  dialOutOnlyPeers: number;
  models: readonly { id: string; providers: number }[];
  freeSlots: number;
  slots: number;
  latencyMs: { median: number; max: number } | null;
}

/** The peer table. */
export interface PeersView {
  list(): MaybePromise<readonly PeerRow[]>;
  /** The network view, when the node runs the overlay. */
  network?(): MaybePromise<NetworkRow | null>;
}

/** One block of the ledger. */
export interface BlockRow {
  height: number;
  hash: string;
  prevHash: string;
  timeMs: number;
  records: number;
}

/** One record of the ledger. */
export interface RecordRow {
  hash: string;
  kind: string;
  timeMs: number;
  /** One line of what it says (model, tokens, peer …), chosen by the adapter. */
  summary: string;
}

/** What this node holds of one peer's chain (block headers exchanged between peers). */
export interface PeerChainRow {
  peer: string;
  height: number;
  headHash: string;
  totalTokens: number;
  /** Why the peer's last offered headers or blocks were rejected; null when they verified. */
  rejectedReason: string | null;
  /** Height up to which the peer's blocks were fetched and checked against its headers. */
  bodiesHeight: number;
  updatedMs: number;
}

/** What verifying a receipt found. */
export type VerifyResult = { ok: true; detail: string } | { ok: false; reason: string };

/** The ledger explorer. */
export interface LedgerView {
  /** Newest first, at most `limit`. */
  blocks(limit: number): MaybePromise<readonly BlockRow[]>;
  /** Newest first, at most `limit`. */
  records(limit: number): MaybePromise<readonly RecordRow[]>;
  /** Checks a provenance receipt given as the JSON text a user pasted. Never throws for bad input. */
  verifyReceipt(json: string): MaybePromise<VerifyResult>;
  /** The peers' chains this node keeps, by peer id (absent: the node keeps none). */
  peerChains?(): MaybePromise<readonly PeerChainRow[]>;
}

/** One sample of the energy series (one finished inference). */
export interface EnergyPoint {
  timeMs: number;
  /** Generated tokens per decode second; null when the decode time is unknown (0 ms). */
  tokensPerSecond: number | null;
  /** Millijoules per token; null when the sample carries no energy figure. */
  mjPerToken: number | null;
  /** Where the energy figure comes from: never show an estimate as a measurement. */
  source: "measured" | "estimated";
}

/** The energy history. */
export interface EnergySeries {
  /** Oldest first. */
  points(): MaybePromise<readonly EnergyPoint[]>;
}

/** What an update of the policy gave. */
export type UpdateResult = { ok: true } | { ok: false; reason: string };

/** The consent policy. */
export interface ConsentView {
  /** The policy as pretty-printed JSON. */
  policyJson(): MaybePromise<string>;
  /** Replaces the policy; bad JSON or a bad policy gives `{ ok: false, reason }`, never throws. */
  update(json: string): MaybePromise<UpdateResult>;
}

/** One installed model. */
export interface InstalledModel {
  name: string;
  sizeBytes: number;
  /** Where it came from (registry name, Hugging Face repo) when known. */
  source?: string;
}

/** One model the node knows of (its registry), installed or not. */
export interface KnownModel {
  name: string;
  /** The size for display ("1.19 GB", "unknown"). */
  size: string;
  description: string;
  /** "built-in", "installed", "available", or "cannot be verified" (no known SHA-256). */
  status: string;
}

/** One step of a pull. `totalBytes` is null while the size is unknown. */
export interface PullProgress {
  receivedBytes: number;
  totalBytes: number | null;
}

/** The model manager. */
export interface ModelsView {
  installed(): MaybePromise<readonly InstalledModel[]>;
  /** The models this node can name for a pull (optional: without it the page lists none). */
  known?(): MaybePromise<readonly KnownModel[]>;
  /**
   * Downloads a model; yields progress as bytes arrive and ends when it is installed.
   *
   * @throws {Error} (from the iterator) when the name is unknown or the download fails; the
   *   message is shown to the user.
   */
  pull(name: string, signal: AbortSignal): AsyncIterable<PullProgress>;
  /** @throws {Error} when the model is not installed; the message is shown to the user. */
  delete(name: string): MaybePromise<void>;
}

/** All the ports; each one is optional. */
export interface DashboardPorts {
  status?: StatusView;
  peers?: PeersView;
  ledger?: LedgerView;
  energy?: EnergySeries;
  consent?: ConsentView;
  models?: ModelsView;
}
