/**
 * An export that holds version 2 inference records (replay facts) says version 3 in its head
 * line and imports back to the same head; a ledger of version 1 records still exports as
 * version 1 (docs/ledger.md §7).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixedIdentity } from "../helpers/ledger.ts";
import { buildRecord, type Hex32, openLedger, signRecord } from "../../src/ledger/index.ts";

const dir = mkdtempSync(join(tmpdir(), "aria-export-v3-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const alice = fixedIdentity(1);
const clock = { nowMs: () => 1_700_000_000_000 };
const options = { identity: alice, clock, modelSha256: "ab".repeat(32) as Hex32, nLayers: 4 };

function signed(withReplay: boolean, id: string) {
  const replay = {
    contract: 2,
    sampler: 1,
    head: "float" as const,
    kvType: "f32" as const,
    sampling: {
      temperature: 0.5,
      topK: 40,
      topP: 1,
      minP: 0,
      repeatPenalty: 1,
      repeatLastN: 64,
      frequencyPenalty: 0,
      presencePenalty: 0,
      logitBias: new Map<number, number>(),
    },
    seed: 3,
    promptIds: [1, 2],
    continued: 0,
    outputIds: [3],
  };
  const input = {
    request: { id, model: "m", input: { kind: "text" as const, prompt: "p" } },
    result: {
      usage: { promptTokens: 2, completionTokens: 1 },
      timings: { queueMs: 0, promptMs: 0, decodeMs: 0 },
      ...(withReplay ? { replay } : {}),
    },
    output: "x",
  };
  return signRecord(buildRecord(input, options), alice).signed;
}

describe("export of version 2 records", () => {
  test("the head line says 3, and the file imports back to the same head", () => {
    const store = openLedger(join(dir, "a.sqlite"), { identity: alice, clock, sealEvery: 2 });
    store.append(signed(false, "cmpl-1"));
    store.append(signed(true, "cmpl-2"));
    store.append(signed(true, "cmpl-3")); // pending
    const lines = store.exportLines();
    expect(JSON.parse(lines[0]!).version).toBe(3);
    const copy = openLedger(join(dir, "b.sqlite"), { identity: alice, clock });
    const imported = copy.importLines(lines);
    expect(imported.headHash).toBe(JSON.parse(lines[0]!).headHash);
    expect(copy.verify().ok).toBe(true);
    expect(copy.pending()).toHaveLength(1);
    store.close();
    copy.close();
  });
  test("a ledger of version 1 records still exports as version 1", () => {
    const store = openLedger(join(dir, "c.sqlite"), { identity: alice, clock, sealEvery: 1 });
    store.append(signed(false, "cmpl-4"));
    expect(JSON.parse(store.exportLines()[0]!).version).toBe(1);
    store.close();
  });
});
