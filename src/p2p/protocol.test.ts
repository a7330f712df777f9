import { describe, expect, test } from "bun:test";
import { edCrypto } from "../../tests/helpers/p2p.ts";
import {
  type CheckContext,
  checkEnvelope,
  encodeFrame,
  MAX_FRAME_BYTES,
  MAX_SKEW_MS,
  type Outgoing,
  type ParsedFrame,
  parseFrame,
  PROTOCOL_VERSION_STRING,
} from "./protocol.ts";
import { NonceCache } from "./replay.ts";

const a = edCrypto(1);
const b = edCrypto(2);
const NOW = 1_700_000_000_000;
const nonce = (i: number) => i.toString(16).padStart(32, "0");

function frame(
  msg: Outgoing,
  opts: { from?: string; ts?: number; n?: number; signer?: typeof a } = {},
): string {
  const signer = opts.signer ?? a;
  return encodeFrame(msg, {
    from: opts.from ?? a.nodeId,
    ts: opts.ts ?? NOW,
    nonce: nonce(opts.n ?? 1),
    sign: (bytes) => signer.sign(bytes),
  });
}

function parsed(text: string): ParsedFrame {
  const r = parseFrame(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function ctx(cache = new NonceCache()): CheckContext {
  return {
    self: b.nodeId,
    peer: a.nodeId,
    now: NOW,
    verify: (id, bytes, sig) => b.verify(id, bytes, sig),
    remember: (from, n, ts, now) => cache.remember(from, n, ts, now),
  };
}

const ping: Outgoing = { kind: "ping", id: "p1", to: b.nodeId, body: {} };

describe("parseFrame", () => {
  test("a frame round-trips", () => {
    const p = parsed(frame(ping));
    expect(p.envelope.kind).toBe("ping");
    expect(p.envelope.from).toBe(a.nodeId);
    expect(p.envelope.v).toBe(PROTOCOL_VERSION_STRING);
  });

  const env = (o: Record<string, unknown>) =>
    JSON.stringify({
      sig: "",
      msg: JSON.stringify({
        v: "2.0",
        kind: "ping",
        id: "x1",
        from: a.nodeId,
        to: b.nodeId,
        ts: NOW,
        nonce: nonce(1),
        body: {},
        ...o,
      }),
    });
  const cases: [string, string, string][] = [
    ["not json", "{nope", "INVALID_JSON"],
    ["msg not json", JSON.stringify({ sig: "", msg: "{" }), "INVALID_JSON"],
    ["frame without msg", JSON.stringify({ sig: "" }), "MISSING_FIELDS"],
    ["envelope without from", env({ from: undefined }), "MISSING_FIELDS"],
    ["unknown kind", env({ kind: "teleport" }), "UNKNOWN_TYPE"],
    ["body missing fields", env({ kind: "error", body: { code: "BUSY" } }), "MISSING_FIELDS"],
    ["other major", env({ v: "3.0" }), "VERSION"],
    ["oversized", JSON.stringify({ sig: "", msg: "x".repeat(MAX_FRAME_BYTES) }), "FRAME_TOO_LARGE"],
    ["__proto__ kind", env({ kind: "__proto__" }), "UNKNOWN_TYPE"],
  ];
  for (const [name, text, code] of cases) {
    test(`${name} -> ${code}`, () => {
      const r = parseFrame(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect<string>(r.error.code).toBe(code);
    });
  }

  test("the fault names the request it answers when the id is readable", () => {
    const r = parseFrame(env({ kind: "teleport", id: "q7" }));
    expect(!r.ok && r.error.re).toBe("q7");
  });

  test("another minor version is accepted", () => {
    expect(parseFrame(env({ v: "2.9" })).ok).toBe(true);
  });

  test("pipe.* kinds pass with an unchecked body for the pipeline module", () => {
    const r = parseFrame(env({ kind: "pipe.forward", body: { anything: 1 } }));
    expect(r.ok && r.value.envelope.kind).toBe("pipe.forward");
  });
});

describe("checkEnvelope", () => {
  test("a good message passes once, then is a replay", () => {
    const cache = new NonceCache();
    const p = parsed(frame(ping));
    expect(checkEnvelope(p, ctx(cache)).ok).toBe(true);
    const again = checkEnvelope(p, ctx(cache));
    expect(!again.ok && again.error.code).toBe("REPLAY");
  });

  const cases: [string, () => string, string][] = [
    ["signed by another key", () => frame(ping, { signer: b }), "BAD_SIGNATURE"],
    [
      "from another node than the connection's",
      () => frame(ping, { from: b.nodeId, signer: b }),
      "BAD_SIGNATURE",
    ],
    ["addressed to another node", () => frame({ ...ping, to: a.nodeId }), "BAD_SIGNATURE"],
    ["too old", () => frame(ping, { ts: NOW - MAX_SKEW_MS - 1 }), "STALE"],
    ["from the future", () => frame(ping, { ts: NOW + MAX_SKEW_MS + 1 }), "STALE"],
    [
      "a handshake kind after the handshake",
      () => frame({ kind: "auth", id: "a", to: b.nodeId, body: { proof: "0".repeat(128) } }),
      "UNKNOWN_TYPE",
    ],
  ];
  for (const [name, make, code] of cases) {
    test(`${name} -> ${code}`, () => {
      const r = checkEnvelope(parsed(make()), ctx());
      expect(r.ok).toBe(false);
      if (!r.ok) expect<string>(r.error.code).toBe(code);
    });
  }

  test("a changed body breaks the signature", () => {
    const text = frame({
      kind: "complete.chunk",
      id: "c",
      re: "r",
      to: b.nodeId,
      body: { text: "hi", tokens: [1] },
    });
    const outer = JSON.parse(text);
    outer.msg = outer.msg.replace('"hi"', '"ho"');
    const r = checkEnvelope(parsed(JSON.stringify(outer)), ctx());
    expect(!r.ok && r.error.code).toBe("BAD_SIGNATURE");
  });
});
