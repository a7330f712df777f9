/**
 * @module The node's address book, kept across restarts (issue 23 "Bootstrap"): the peers it was
 * connected to and the addresses it learned, with when each last answered, as a small JSON file
 * in the data directory. On start the freshest entries join the configured bootstrap list, so a
 * node whose bootstrap peers are gone still finds the network it left. Pure: the shell reads and
 * writes the file; this file builds the snapshot and parses it, refusing anything malformed.
 *
 * Layout (version 1): { "version": 1, "savedMs": <unix ms>,
 *   "addresses": [{ "url": "ws://…", "id": <64 hex> | null, "lastSeenMs": <unix ms> }, …] }
 * newest first, at most MAX_SAVED entries.
 */
import { z } from "zod";
import type { Result } from "../shared/result.ts";
import type { PeerState } from "./peer-state.ts";

/** Entries saved. Why 128: enough to rejoin a large network, a few KB on disk. */
export const MAX_SAVED = 128;
/** Entries older than this are not used on start (ms). Why 7 days: home addresses change. */
export const MAX_AGE_MS = 7 * 24 * 60 * 60_000;
/** Saved entries added to the bootstrap list on start. Why 16: a few live ones suffice, and each
 * is dialled with backoff until it answers. */
export const MAX_RESTORED = 16;

const entrySchema = z.object({
  url: z.string().max(300).regex(/^wss?:\/\/[^\s,]+$/),
  id: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  lastSeenMs: z.number().int().min(0),
});
/** The file's schema. */
export const addressBookSchema = z.object({
  version: z.literal(1),
  savedMs: z.number().int().min(0),
  addresses: z.array(entrySchema).max(MAX_SAVED),
});
/** A saved address book. */
export type AddressBook = z.infer<typeof addressBookSchema>;

/**
 * The snapshot to save: connected peers that listen (seen now), then remembered addresses that
 * have not failed, newest first; entries of the previous book that are still fresh are kept.
 *
 * @param state the peer table.
 * @param now clock reading.
 * @param previous the book loaded at start (its entries survive a restart without connections).
 */
export function snapshotAddresses(
  state: PeerState,
  now: number,
  previous: AddressBook | null = null,
): AddressBook {
  const byUrl = new Map<string, AddressBook["addresses"][number]>();
  const put = (url: string | null, id: string | null, lastSeenMs: number) => {
    if (url === null || url === state.selfUrl || !entrySchema.shape.url.safeParse(url).success) {
      return;
    }
    const old = byUrl.get(url);
    if (!old || old.lastSeenMs < lastSeenMs) byUrl.set(url, { url, id, lastSeenMs });
  };
  for (const p of state.peers.values()) put(p.url, p.id, now);
  for (const a of state.addresses.values()) {
    // a peer that disconnected is remembered with notBeforeMs = its disconnect time + 1 s
    // (peer-state.ts backoff(1)); a hint never dialled has 0 and is saved as never seen
    if (a.failures === 0 && !a.bootstrap) put(a.url, a.id, Math.max(0, a.notBeforeMs - 1_000));
  }
  for (const e of previous?.addresses ?? []) {
    if (now - e.lastSeenMs <= MAX_AGE_MS) put(e.url, e.id, e.lastSeenMs);
  }
  const addresses = [...byUrl.values()].sort((a, b) => b.lastSeenMs - a.lastSeenMs).slice(
    0,
    MAX_SAVED,
  );
  return { version: 1, savedMs: now, addresses };
}

/**
 * Parses a saved book.
 *
 * @param text the file's content.
 * @returns the book, or why it was refused (the node then starts without it and overwrites it).
 */
export function parseAddressBook(text: string): Result<AddressBook, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: "Address book is not JSON" }; // handled here: start without it
  }
  const parsed = addressBookSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return {
      ok: false,
      error: `Address book ${i ? `${i.path.join(".") || "(root)"}: ${i.message}` : "invalid"}`,
    };
  }
  return { ok: true, value: parsed.data };
}

/**
 * The saved addresses to add to the bootstrap list: fresh ones, newest first, not already listed.
 *
 * @param book the saved book.
 * @param now clock reading.
 * @param configured the configured bootstrap URLs.
 */
export function restoredBootstrap(
  book: AddressBook,
  now: number,
  configured: readonly string[],
): string[] {
  const have = new Set(configured);
  return book.addresses
    .filter((e) => now - e.lastSeenMs <= MAX_AGE_MS && !have.has(e.url))
    .slice(0, MAX_RESTORED)
    .map((e) => e.url);
}
