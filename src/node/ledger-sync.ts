/**
 * @module Shell: block-header exchange over the peer node (docs/ledger.md §8). Every
 * ANNOUNCE_MS this node sends its newest signed headers to each connected peer; a peer's
 * `ledger.*` messages are schema-checked (src/ledger/wire.ts), decided by the pure
 * `receiveHeaders` (src/ledger/sync.ts) against that peer's chain stored in the ledger file, and
 * the outcome is written back: new verified headers, a request for missing ones, or a rejection
 * with its reason (logged, and listed by `aria ledger show --peers`). Each newly accepted head
 * is countersigned (src/ledger/attest.ts) and the attestation is sent to its producer, which
 * stores it so `aria ledger verify` can detect a later rewrite of its own history. The blocks
 * behind accepted headers are then fetched (at most 32 per request) and their records and Merkle
 * roots checked against those headers; a block that does not match rejects the chain too.
 * Handlers never throw (STYLE.md B7.4): a bad message is logged and dropped.
 */
import type { NodeIdentity } from "../identity/index.ts";
import {
  announceRange,
  type Block,
  blockBodyFault,
  describeFault,
  hashHeader,
  type HeadAttestation,
  type LedgerMessage,
  ledgerMessageSchema,
  type LedgerStore,
  receiveHeaders,
  requestedRange,
  type SignedHeader,
  signHeadAttestation,
  verifyHeadAttestation,
} from "../ledger/index.ts";
import type { Envelope, P2PNode } from "../p2p/index.ts";

/** How often headers are announced. Why 10 s: blocks are sealed every 16 inferences, so a peer
 * learns of a new block within seconds at a few small frames per peer per interval. */
export const ANNOUNCE_MS = 10_000;

/** Most whole blocks sent per `ledger.blocks` reply. Why 32: 16-record blocks are ~15 KB of
 * JSON, so 32 stay well under the 1 MiB frame limit. */
const MAX_BLOCKS_PER_REPLY = 32;

/** What the sync needs. */
export interface LedgerSyncDeps {
  node: Pick<P2PNode, "send" | "connectedPeers" | "setLedgerHandler">;
  store: LedgerStore;
  identity: NodeIdentity;
  clock: { nowMs(): number };
  log: (entry: Record<string, unknown>) => void;
}

/** Header exchange for one node. */
export class LedgerSync {
  readonly #d: LedgerSyncDeps;

  /** @param deps node, ledger store, identity, clock, log. Registers the ledger handler. */
  constructor(deps: LedgerSyncDeps) {
    this.#d = deps;
    deps.node.setLedgerHandler({ onMessage: (peer, env) => this.#guard(peer, env) });
  }

  /** Sends our newest headers to every connected peer (empty at genesis). */
  announce(): void {
    const headers = this.#ourHeaders(announceRange(this.#d.store.head().height));
    for (const peer of this.#d.node.connectedPeers()) {
      this.#send(peer, { kind: "ledger.headers", version: 1, headers });
    }
  }

  #ourHeaders(range: { from: number; to: number } | undefined): SignedHeader[] {
    if (range === undefined) return [];
    return this.#d.store.blocks({ fromHeight: range.from, limit: range.to - range.from + 1 })
      .map(({ header, signature }) => ({ header, signature }));
  }

  #send(peer: string, body: LedgerMessage, re?: string): void {
    this.#d.node.send(peer, { kind: body.kind, body, ...(re !== undefined ? { re } : {}) });
  }

  #guard(peer: string, env: Envelope): void {
    try {
      this.#onMessage(peer, env);
    } catch (err: unknown) {
      // terminated: a peer's message must never reach the node (STYLE.md B7.4)
      this.#d.log({ level: "error", msg: "ledger message failed", peer, error: String(err) });
    }
  }

  #onMessage(peer: string, env: Envelope): void {
    const parsed = ledgerMessageSchema.safeParse(env.body);
    // handled here: a malformed body or one whose kind differs from the envelope is dropped
    if (!parsed.success || parsed.data.kind !== env.kind) {
      this.#d.log({
        level: "warn",
        msg: "ledger message refused: malformed",
        peer,
        kind: env.kind,
      });
      return;
    }
    const m = parsed.data;
    switch (m.kind) {
      case "ledger.headers":
        return this.#onHeaders(peer, m.headers);
      case "ledger.headers.request": {
        const range = requestedRange(m.fromHeight, m.count, this.#d.store.head().height);
        const headers = this.#ourHeaders(range).filter((h) => h.header.height >= 1);
        return this.#send(peer, { kind: "ledger.headers", version: 1, headers }, env.id);
      }
      case "ledger.blocks.request": {
        const range = requestedRange(
          m.fromHeight,
          Math.min(m.count, MAX_BLOCKS_PER_REPLY),
          this.#d.store.head().height,
        );
        const blocks = range === undefined ? [] : this.#d.store.blocks({
          fromHeight: range.from,
          limit: range.to - range.from + 1,
        });
        return this.#send(peer, { kind: "ledger.blocks", version: 1, blocks }, env.id);
      }
      case "ledger.attestations":
        return this.#onAttestations(peer, m.attestations as HeadAttestation[]);
      case "ledger.blocks":
        return this.#onBlocks(peer, m.blocks);
    }
  }

  #onHeaders(peer: string, headers: readonly SignedHeader[]): void {
    const { store, clock } = this.#d;
    const known = store.peerChains().find((c) => c.peer === peer);
    const view = {
      height: known?.height ?? 0,
      totalTokens: known?.totalTokens ?? 0,
      headerAt: (h: number) => store.peerHeader(peer, h),
    };
    const d = receiveHeaders(peer, headers, view);
    const now = clock.nowMs();
    if (d.type === "request") {
      this.#send(peer, {
        kind: "ledger.headers.request",
        version: 1,
        fromHeight: d.fromHeight,
        count: d.count,
      });
      return;
    }
    if (d.type === "reject") {
      store.rejectPeer(peer, d.reason, now);
      this.#d.log({ level: "warn", msg: "peer chain rejected", peer, reason: d.reason });
      return;
    }
    store.savePeerHeaders(peer, d.headers, { ...d, updatedMs: now });
    this.#requestBodies(peer);
    if (d.headers.length === 0 || d.height < 1) return;
    this.#d.log({ level: "info", msg: "peer chain accepted", peer, height: d.height });
    const attestation = signHeadAttestation(
      { producer: peer, height: d.height, headHash: d.headHash },
      { witness: this.#d.identity, timestampMs: Math.round(now) },
    );
    store.putHeadAttestation(attestation);
    this.#send(peer, { kind: "ledger.attestations", version: 1, attestations: [attestation] });
  }

  /** Asks for the next blocks whose records were not checked yet (after an accepted chain). */
  #requestBodies(peer: string): void {
    const known = this.#d.store.peerChains().find((c) => c.peer === peer);
    if (!known || known.rejectedReason !== null || known.bodiesHeight >= known.height) return;
    this.#send(peer, {
      kind: "ledger.blocks.request",
      version: 1,
      fromHeight: known.bodiesHeight + 1,
      count: Math.min(MAX_BLOCKS_PER_REPLY, known.height - known.bodiesHeight),
    });
  }

  /**
   * Checks fetched blocks in height order against the stored headers: the same header hash,
   * then the records (blockBodyFault). Handled here: blocks that do not continue the checked
   * height are ignored; a mismatch or a bad record rejects the peer's chain.
   */
  #onBlocks(peer: string, blocks: readonly Block[]): void {
    const { store, clock } = this.#d;
    const known = store.peerChains().find((c) => c.peer === peer);
    if (!known || known.rejectedReason !== null) return;
    let checked = known.bodiesHeight;
    for (const block of blocks) {
      const height = block.header.height;
      if (height !== checked + 1 || height > known.height) break;
      const reason = this.#bodyProblem(peer, block);
      if (reason !== undefined) {
        store.rejectPeer(peer, reason, clock.nowMs());
        this.#d.log({ level: "warn", msg: "peer chain rejected", peer, reason });
        return;
      }
      checked = height;
    }
    if (checked === known.bodiesHeight) return;
    store.setPeerBodiesHeight(peer, checked);
    this.#requestBodies(peer);
  }

  #bodyProblem(peer: string, block: Block): string | undefined {
    const height = block.header.height;
    const stored = this.#d.store.peerHeader(peer, height);
    let same = false;
    try {
      same = stored !== undefined && hashHeader(stored.header) === hashHeader(block.header);
    } catch {
      same = false; // handled here: a malformed header matches nothing
    }
    if (!same) return `block ${height} does not match the header the peer announced`;
    const fault = blockBodyFault(block);
    return fault === undefined ? undefined : describeFault(fault);
  }

  #onAttestations(peer: string, attestations: readonly HeadAttestation[]): void {
    const self = this.#d.identity.nodeId as string;
    for (const a of attestations) {
      // handled here: only the sender's own, valid statements about this node's chain are kept
      if (a.witness !== peer || a.producer !== self || !verifyHeadAttestation(a)) continue;
      this.#d.store.putHeadAttestation(a);
    }
  }
}
