/**
 * @module Header exchange between peers, the pure part: what to do with the signed headers a
 * peer announces, given the part of that peer's chain this node already verified and stored.
 * Accept the new headers, ask for missing ones, or reject the chain with a reason (a header that
 * does not verify, a block produced by another node, or a rewrite of a block the peer showed
 * before). Also which of our headers to announce and to send on request. Pure: the stored view
 * comes in as a value and a lookup function; store.ts keeps it, src/node/ledger-sync.ts runs it.
 */
import { GENESIS_HEADER, verifyHeaders } from "./chain.ts";
import { type BlockHeader, hashHeader, type SignedHeader } from "./entry.ts";
import { MAX_ITEMS_PER_MESSAGE } from "./wire.ts";

/** How many of our newest headers a periodic announcement carries. Why 16: a peer that missed
 * a few rounds still links them to what it stored; a longer gap costs one request. */
export const ANNOUNCE_HEADERS = 16;

/** What this node stored about one peer's chain. */
export interface PeerChainView {
  /** Height of the newest verified header stored (0: nothing beyond genesis). */
  height: number;
  /** Sum of the stored headers' totalTokens. */
  totalTokens: number;
  /** The stored header at a height in 1..height (genesis is not stored). */
  headerAt(height: number): SignedHeader | undefined;
}

/** The outcome of a peer's announcement. */
export type HeadersDecision =
  | {
    type: "accept";
    headers: SignedHeader[];
    height: number;
    headHash: string;
    totalTokens: number;
  }
  | { type: "request"; fromHeight: number; count: number }
  | { type: "reject"; reason: string };

function producerProblem(peer: string, headers: readonly SignedHeader[]): string | undefined {
  for (const h of headers) {
    if (h.header.height >= 1 && h.header.producer !== peer) {
      return `block ${h.header.height} was produced by ${h.header.producer}, not by the peer`;
    }
  }
  return undefined;
}

function rewriteProblem(
  headers: readonly SignedHeader[],
  view: PeerChainView,
): string | undefined {
  for (const h of headers) {
    const height = h.header.height;
    if (height < 1 || height > view.height) continue;
    const stored = view.headerAt(height);
    if (stored !== undefined && hashHeader(stored.header) !== hashHeader(h.header)) {
      return `the peer rewrote block ${height}: it showed ${
        hashHeader(stored.header)
      } before, now ${hashHeader(h.header)}`;
    }
  }
  return undefined;
}

/**
 * Decides what to do with headers a peer sent (oldest first, consecutive).
 *
 * @param peer the sender's node id: every block of its chain must be produced by it.
 * @param headers the announced or requested headers (untrusted, already schema-checked).
 * @param view what this node verified and stored about the peer's chain.
 * @returns accept (with only the headers above what is stored), request the gap, or reject.
 */
export function receiveHeaders(
  peer: string,
  headers: readonly SignedHeader[],
  view: PeerChainView,
): HeadersDecision {
  // nothing new: the stored chain stays as it is (its head re-read, so a gap is still caught)
  const unchanged = (): HeadersDecision => {
    const top = view.height === 0 ? GENESIS_HEADER : view.headerAt(view.height)?.header;
    if (top === undefined) return { type: "reject", reason: "the stored chain has a gap" };
    return {
      type: "accept",
      headers: [],
      height: view.height,
      headHash: hashHeader(top),
      totalTokens: view.totalTokens,
    };
  };
  const first = headers[0];
  if (first === undefined) return unchanged();
  const producer = producerProblem(peer, headers);
  if (producer !== undefined) return { type: "reject", reason: producer };
  const from = first.header.height;
  const last = headers[headers.length - 1]!.header.height;
  if (from > view.height + 1) {
    const count = Math.min(MAX_ITEMS_PER_MESSAGE, last - view.height);
    return { type: "request", fromHeight: view.height + 1, count };
  }
  let anchor: BlockHeader = GENESIS_HEADER;
  if (from > 1) {
    const stored = view.headerAt(from - 1);
    if (stored === undefined) return { type: "reject", reason: "the stored chain has a gap" };
    anchor = stored.header;
  }
  const checked = verifyHeaders(headers, anchor);
  if (!checked.ok) {
    const at = checked.error.height === undefined ? "" : `block ${checked.error.height}: `;
    return { type: "reject", reason: `${at}${checked.error.reason}` };
  }
  const rewrite = rewriteProblem(headers, view);
  if (rewrite !== undefined) return { type: "reject", reason: rewrite };
  const fresh = headers.filter((h) => h.header.height > view.height);
  if (fresh.length === 0) return unchanged();
  const totalTokens = fresh.reduce((sum, h) => sum + h.header.totalTokens, view.totalTokens);
  return {
    type: "accept",
    headers: fresh,
    height: last,
    headHash: checked.value.headHash,
    totalTokens,
  };
}

/**
 * Which heights to send for a request, clamped to what exists and to one message.
 *
 * @param fromHeight first height asked for.
 * @param count how many asked for.
 * @param headHeight our head's height.
 * @returns the inclusive range [from, to], or undefined when nothing can be sent.
 */
export function requestedRange(
  fromHeight: number,
  count: number,
  headHeight: number,
): { from: number; to: number } | undefined {
  const from = Math.max(0, fromHeight);
  const to = Math.min(headHeight, from + Math.min(count, MAX_ITEMS_PER_MESSAGE) - 1);
  return from <= to ? { from, to } : undefined;
}

/**
 * The heights of a periodic announcement: the newest ANNOUNCE_HEADERS blocks (none at genesis).
 *
 * @param headHeight our head's height.
 * @returns the inclusive range, or undefined when only genesis exists.
 */
export function announceRange(headHeight: number): { from: number; to: number } | undefined {
  if (headHeight < 1) return undefined;
  return { from: Math.max(1, headHeight - ANNOUNCE_HEADERS + 1), to: headHeight };
}
