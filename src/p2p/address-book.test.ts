import { describe, expect, test } from "bun:test";
import { applyPeerEvent, initialPeerState } from "./peer-state.ts";
import {
  MAX_AGE_MS,
  MAX_RESTORED,
  parseAddressBook,
  restoredBootstrap,
  snapshotAddresses,
} from "./address-book.ts";

const id = (i: number) => i.toString(16).padStart(64, "0");
const NOW = 1_700_000_000_000;

describe("address book", () => {
  test("snapshot: listening peers now, learned addresses, old entries kept; self and bootstrap left out", () => {
    let s = initialPeerState(id(0), "ws://me:1");
    s = applyPeerEvent(s, { type: "bootstrap", urls: ["ws://boot:1"] });
    s = applyPeerEvent(s, {
      type: "connected",
      id: id(1),
      url: "ws://a:1",
      dialedUrl: null,
      direction: "in",
      now: NOW,
    });
    s = applyPeerEvent(s, {
      type: "connected",
      id: id(2),
      url: null,
      dialedUrl: null,
      direction: "in",
      now: NOW,
    });
    s = applyPeerEvent(s, {
      type: "peers_learned",
      hints: [{ id: id(3), url: "ws://b:1", models: [] }, {
        id: id(4),
        url: "ws://me:1",
        models: [],
      }],
    });
    const previous = {
      version: 1 as const,
      savedMs: 0,
      addresses: [
        { url: "ws://old:1", id: null, lastSeenMs: NOW - 1000 },
        { url: "ws://ancient:1", id: null, lastSeenMs: NOW - MAX_AGE_MS - 1 },
      ],
    };
    const book = snapshotAddresses(s, NOW, previous);
    expect(book.addresses.map((e) => e.url)).toEqual(["ws://a:1", "ws://old:1", "ws://b:1"]);
    expect(book.addresses[0]).toEqual({ url: "ws://a:1", id: id(1), lastSeenMs: NOW });
    // round trip through the file format
    const back = parseAddressBook(JSON.stringify(book));
    expect(back).toEqual({ ok: true, value: book });
  });

  test("malformed files are refused with a reason", () => {
    expect(parseAddressBook("{")).toEqual({ ok: false, error: "Address book is not JSON" });
    expect(parseAddressBook(JSON.stringify({ version: 2, savedMs: 0, addresses: [] })).ok).toBe(
      false,
    );
    const bad = {
      version: 1,
      savedMs: 0,
      addresses: [{ url: "ws://a:1,ws://b:2", id: null, lastSeenMs: 0 }],
    };
    expect(parseAddressBook(JSON.stringify(bad))).toEqual({
      ok: false,
      error: expect.stringContaining("addresses.0.url"),
    });
  });

  test("restored bootstrap: fresh, newest first, bounded, not duplicated", () => {
    const addresses = Array.from(
      { length: 40 },
      (_, i) => ({ url: `ws://h${i}:1`, id: null, lastSeenMs: NOW - i * 1000 }),
    );
    addresses.push({ url: "ws://stale:1", id: null, lastSeenMs: NOW - MAX_AGE_MS - 1 });
    const urls = restoredBootstrap({ version: 1, savedMs: NOW, addresses }, NOW, ["ws://h0:1"]);
    expect(urls.length).toBe(MAX_RESTORED);
    expect(urls[0]).toBe("ws://h1:1");
    expect(urls).not.toContain("ws://stale:1");
  });
});
