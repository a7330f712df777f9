import { describe, expect, test } from "bun:test";
import {
  fixedIdentity,
  inferenceOf,
  makeChain,
  makePolicyChange,
  makeRecord,
  makeSigned,
} from "../../tests/helpers/ledger.ts";
import { defaultPolicy } from "../consent/policy.ts";
import { hashHeader, hashRecord, type Hex32, ZERO_HASH } from "../ledger/entry.ts";
import { buildReceipt } from "../ledger/receipt.ts";
import type { RegistryEntry } from "../model/registry.ts";
import type { peerTable } from "../p2p/peer-table.ts";
import {
  blockRows,
  checkReceiptText,
  deletePlan,
  energyPoints,
  installedModels,
  knownModels,
  peerRows,
  placeRecords,
  policyFromText,
  recordRows,
  recordSummary,
} from "./dashboard-map.ts";

const node = fixedIdentity(1);

describe("peerRows", () => {
  const peer = (over: Partial<ReturnType<typeof peerTable>["peers"][number]>) => ({
    id: "a".repeat(64),
    url: "ws://10.0.0.2:7070" as string | null,
    direction: "out" as const,
    rttMs: 12 as number | null,
    lastSeenMsAgo: 1_000,
    models: [
      { id: "aria-nano", sha256: "", layers: null },
      { id: "big<b>", sha256: "", layers: [0, 11] as [number, number] },
    ],
    slots: 2,
    freeSlots: 1,
    tokensPerSecond: 50,
    ok: 3,
    failed: 0,
    ...over,
  });

  test("maps the table: address, latency, models, inclusive layers to [start, end), alive", () => {
    const table = {
      self: "s",
      url: null,
      known: 2,
      peers: [peer({}), peer({ id: "b", url: null, rttMs: null, lastSeenMsAgo: 20_000 })],
    };
    expect(peerRows(table, 20_000)).toEqual([
      {
        id: "a".repeat(64),
        address: "ws://10.0.0.2:7070",
        latencyMs: 12,
        models: ["aria-nano", "big<b>"], // peer strings pass as data; the view escapes them
        layers: [{ model: "big<b>", start: 0, end: 12 }],
        alive: true,
      },
      {
        id: "b",
        address: "(inbound, no address)",
        latencyMs: null,
        models: ["aria-nano", "big<b>"],
        layers: [{ model: "big<b>", start: 0, end: 12 }],
        alive: false, // silent for the whole silence limit: about to be dropped
      },
    ]);
  });
});

describe("ledger rows", () => {
  const chain = makeChain(node, [2, 3]); // genesis, block 1 (records 0-1), block 2 (records 2-4)
  const pending = [makeSigned(node, 5)];

  test("blocks newest first, with their header hashes, cut to the limit", () => {
    const rows = blockRows(chain, 2);
    expect(rows.map((r) => r.height)).toEqual([2, 1]);
    expect(rows[0]).toEqual({
      height: 2,
      hash: hashHeader(chain[2]!.header),
      prevHash: hashHeader(chain[1]!.header),
      timeMs: chain[2]!.header.timestampMs,
      records: 3,
    });
    expect(blockRows(chain, 10).map((r) => r.height)).toEqual([2, 1, 0]);
    expect(blockRows(chain, 0)).toEqual([]);
  });

  test("records newest first: pending ones, then by block; each summary says where it is", () => {
    const placed = placeRecords(chain, pending);
    expect(placed.map((p) => p.height)).toEqual([1, 1, 2, 2, 2, null]);
    const rows = recordRows(placed, 3);
    expect(rows.map((r) => r.hash)).toEqual([
      hashRecord(pending[0]!.record),
      hashRecord(chain[2]!.records[2]!.record),
      hashRecord(chain[2]!.records[1]!.record),
    ]);
    expect(rows[0]!.kind).toBe("inference");
    expect(rows[0]!.timeMs).toBe(pending[0]!.record.timestampMs);
    expect(recordRows(placed, 0)).toEqual([]);
    expect(rows[0]!.summary).toBe(
      "aria-nano: 5 prompt + 7 generated tokens, 0 mJ estimated, pending, request chatcmpl-5",
    );
    expect(recordSummary(placed[2]!)).toContain(", block 2, ");
  });

  test("a receipt is checked with the ledger's verifier: sealed, pending, tampered, not JSON", () => {
    const sealed = buildReceipt(inferenceOf(chain[2]!.records[1]), chain[2]!);
    const ok = checkReceiptText(JSON.stringify(sealed));
    expect(ok).toEqual({
      ok: true,
      detail: `Record ${hashRecord(chain[2]!.records[1]!.record)} signed by ${node.nodeId}. ` +
        `In block 2 (${hashHeader(chain[2]!.header)}), produced by ${node.nodeId}.`,
    });
    const loose = checkReceiptText(JSON.stringify(buildReceipt(pending[0]!)));
    expect(loose.ok && loose.detail.endsWith("Not yet in a block (pending).")).toBe(true);
    const tampered = structuredClone(sealed) as {
      record: { record: { completionTokens: number } };
    };
    tampered.record.record.completionTokens += 1;
    const bad = checkReceiptText(JSON.stringify(tampered));
    expect(bad.ok).toBe(false);
    expect(bad.ok ? "" : bad.reason).toContain("does not match");
    expect(checkReceiptText("{")).toEqual({
      ok: false,
      reason: "the text is not JSON: paste the whole receipt object",
    });
  });
});

describe("energyPoints", () => {
  test("oldest first; tokens/s over decode time; mJ over prompt + generated tokens", () => {
    const a = makeRecord(node, 2, { energyMj: 240, energySource: "measured" });
    const b = makeRecord(node, 1, {
      energyMj: 0,
      timings: { queueMs: 0, promptMs: 1, decodeMs: 0 },
    });
    expect(energyPoints([a, b])).toEqual([
      // no decode time and no energy figure (0 mJ "estimated" = no meter): nulls, not zeros
      { timeMs: b.timestampMs, tokensPerSecond: null, mjPerToken: null, source: "estimated" },
      {
        timeMs: a.timestampMs,
        tokensPerSecond: (7 * 1000) / 30,
        mjPerToken: 20,
        source: "measured",
      },
    ]);
    expect(energyPoints([])).toEqual([]);
  });

  test("a policy change (written at every first start) holds no work: it is left out", () => {
    const a = makeRecord(node, 2, { energyMj: 240, energySource: "measured" });
    const change = makePolicyChange(node, ZERO_HASH, "a".repeat(64) as Hex32).record;
    expect(energyPoints([change, a]).map((p) => p.timeMs)).toEqual([a.timestampMs]);
  });
});

describe("policy records on the ledger page", () => {
  test("a policy change is summarised as one, with no inference fields", () => {
    const change = makePolicyChange(node, ZERO_HASH, "ab".repeat(32) as Hex32);
    const line = recordSummary({ signed: change, height: null });
    expect(line).toBe("consent policy changed: none recorded → abababababab, pending");
    expect(recordRows([{ signed: change, height: 3 }], 1)[0]!.kind).toBe("policy change");
  });
});

describe("policyFromText", () => {
  const policy = defaultPolicy({ cores: 4, memoryBytes: 8 * 2 ** 30 });

  test("a valid policy, bad JSON and a bad field", () => {
    expect(policyFromText(JSON.stringify(policy))).toEqual({ ok: true, policy });
    const notJson = policyFromText("{ nope");
    expect(notJson.ok).toBe(false);
    expect(notJson.ok ? "" : notJson.reason).toStartWith("The policy is not JSON (");
    const bad = policyFromText(JSON.stringify({ ...policy, maxThreads: 0 }));
    expect(bad.ok ? "" : bad.reason).toContain("maxThreads");
  });
});

describe("models", () => {
  const entry = (name: string, over: Partial<RegistryEntry> = {}): RegistryEntry => ({
    name,
    aliases: [`${name}-alias`],
    description: "",
    repo: `org/${name}`,
    file: "m.gguf",
    arch: "bitnet",
    ternaryType: "TQ2_0",
    license: "MIT",
    source: "test",
    ...over,
  });
  const registry = [
    entry("nano", { builtin: true }),
    entry("two"),
    entry("three", { sha256: "ab".repeat(32) }),
  ];
  const files = [{ name: "two.gguf", sizeBytes: 10 }, { name: "mine.gguf", sizeBytes: 5 }];

  test("installed: built-in, registry files present, other files", () => {
    expect(installedModels(registry, files, 99)).toEqual([
      { name: "nano", sizeBytes: 99, source: "built into ARIA" },
      { name: "two", sizeBytes: 10, source: "org/two" },
      { name: "mine.gguf", sizeBytes: 5, source: "file in models/" },
    ]);
  });

  test("known: every registry model with its status here", () => {
    const unhashed = { ...entry("four"), size: 1_190_000_000 };
    expect(knownModels([...registry, unhashed], files).map((k) => [k.name, k.size, k.status]))
      .toEqual([
        ["nano", "unknown", "built-in"],
        ["two", "unknown", "installed"],
        ["three", "unknown", "available"],
        ["four", "1.19 GB", "cannot be verified (no known SHA-256): aria model pull --no-verify"],
      ]);
  });

  test("delete: by name, alias or file name; never the built-in or the served model", () => {
    expect(deletePlan("TWO-alias", registry, files, null)).toEqual({
      ok: true,
      file: "two.gguf",
      label: "two",
    });
    expect(deletePlan("mine.gguf", registry, files, null)).toEqual({
      ok: true,
      file: "mine.gguf",
      label: "mine.gguf",
    });
    const refused = (name: string, served: string | null = null) => {
      const r = deletePlan(name, registry, files, served);
      return r.ok ? "deleted" : r.reason;
    };
    expect(refused("nano")).toBe("nano is built into ARIA and cannot be deleted.");
    expect(refused("three")).toBe("three is not installed on this node.");
    expect(refused("../etc/passwd")).toBe("../etc/passwd is not installed on this node.");
    expect(refused("two", "two.gguf")).toStartWith("two is the model this node is serving");
  });
});
