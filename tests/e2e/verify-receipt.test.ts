/**
 * Re-executable receipts end to end (docs/ledger.md §2.4): a real `aria serve` answers through
 * the official openai client, the client keeps the receipt and the messages it sent, and
 * `aria verify` re-runs the answer in another process, with the reference kernels and with the
 * default table, token for token. A changed prompt or a changed receipt is a clear mismatch.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { testModel } from "../helpers/models.ts";
import { type ServeProc, startServe } from "../helpers/aria-serve.ts";

const ROOT = join(import.meta.dir, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "aria-verify-"));
let modelPath = "";
let served: ServeProc;
let client: OpenAI;

beforeAll(async () => {
  modelPath = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
  served = await startServe([
    "--model",
    modelPath,
    "--port",
    "0",
    "--data-dir",
    join(dir, "node"),
    "--parallel",
    "2",
  ]);
  client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: "none" });
}, 120_000);

afterAll(async () => {
  await served?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function verify(args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([process.execPath, "src/main.ts", "verify", ...args], {
    cwd: ROOT,
    env: { ...process.env, ARIA_HOME: join(dir, "home") },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

interface Kept {
  receipt: string;
  prompt: string;
  record: { version: number; replay: { seed: number; outputIdCount: number } };
}

// asks, and keeps what a client keeps: the whole response (with its receipt) and the messages
async function ask(name: string, body: Record<string, unknown>): Promise<Kept> {
  const messages = [
    { role: "system" as const, content: "You are terse." },
    { role: "user" as const, content: `Tell me about ${name}.` },
  ];
  const res = await client.chat.completions.create({
    model: basename(modelPath, ".gguf"),
    messages,
    max_tokens: 24,
    temperature: 0.9,
    top_p: 0.95,
    ...body,
  });
  const provenance = (res as unknown as { provenance: { record: { record: Kept["record"] } } })
    .provenance;
  const receipt = join(dir, `${name}.response.json`);
  const prompt = join(dir, `${name}.messages.json`);
  writeFileSync(receipt, JSON.stringify(res));
  writeFileSync(prompt, JSON.stringify(messages));
  return { receipt, prompt, record: provenance.record.record };
}

describe("aria verify", () => {
  test("a seeded answer is reproduced with --kernels ref and with the default table", async () => {
    const kept = await ask("seeded", { seed: 1234, frequency_penalty: 0.5 });
    expect(kept.record.version).toBe(2);
    expect(kept.record.replay.seed).toBe(1234);
    expect(kept.record.replay.outputIdCount).toBeGreaterThan(0);
    for (const kernels of [["--kernels", "ref"], []]) {
      const r = verify([
        "--receipt",
        kept.receipt,
        "--prompt",
        kept.prompt,
        "--model",
        modelPath,
        ...kernels,
      ]);
      expect(r.out).toMatch(/^reproduced: \d+ tokens, bit for bit/);
      expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
      if (kernels.length > 0) expect(r.out).toContain("kernels ref");
    }
  }, 120_000);

  test("an answer without a seed names the seed the node chose, and is reproduced", async () => {
    const kept = await ask("unseeded", { min_p: 0.05 });
    expect(kept.record.replay.seed).toBeGreaterThanOrEqual(0);
    const r = verify([
      "--receipt",
      kept.receipt,
      "--prompt",
      kept.prompt,
      "--model",
      modelPath,
      "--json",
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, outcome: { kind: "reproduced" } });
  }, 120_000);

  test(
    "a request body with response_format and logit_bias, kept whole, is reproduced",
    async () => {
      const body = {
        model: basename(modelPath, ".gguf"),
        messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "JSON!" }] }],
        max_tokens: 12,
        temperature: 0.8,
        seed: 7,
        logit_bias: { "15": 5, "90": -100 },
        response_format: { type: "json_object" as const },
      };
      const res = await client.chat.completions.create(body);
      const receipt = join(dir, "json.response.json");
      const prompt = join(dir, "json.request.json");
      writeFileSync(receipt, JSON.stringify(res));
      writeFileSync(prompt, JSON.stringify(body));
      const record = (res as unknown as { provenance: { record: { record: Kept["record"] } } })
        .provenance.record.record as Kept["record"] & { replay: { grammarHash: string } };
      expect(record.replay.grammarHash).not.toBe("0".repeat(64));
      const r = verify(["--receipt", receipt, "--prompt", prompt, "--model", modelPath]);
      expect(r.out).toMatch(/^reproduced: \d+ tokens/);
      // the same messages without the body's grammar and bias: the record names them
      writeFileSync(prompt, JSON.stringify(body.messages));
      const m = verify(["--receipt", receipt, "--prompt", prompt, "--model", modelPath]);
      expect(m.out).toContain("NOT reproduced: the record names a logit bias");
    },
    120_000,
  );

  test(
    "a tool-calling body (tools, a call and its result in the history, tool_choice auto) is reproduced",
    async () => {
      const body = {
        model: basename(modelPath, ".gguf"),
        messages: [
          { role: "user" as const, content: "Add 2." },
          {
            role: "assistant" as const,
            content: null,
            tool_calls: [{
              id: "call_1",
              type: "function" as const,
              function: { name: "add", arguments: '{"n":2}' },
            }],
          },
          { role: "tool" as const, tool_call_id: "call_1", content: "4" },
        ],
        tools: [{
          type: "function" as const,
          function: {
            name: "add",
            parameters: { type: "object", properties: { n: { enum: [1, 2, 3] } } },
          },
        }],
        max_tokens: 16,
        temperature: 1,
        seed: 11,
      };
      const res = await client.chat.completions.create(body);
      const receipt = join(dir, "tools.response.json");
      const prompt = join(dir, "tools.request.json");
      writeFileSync(receipt, JSON.stringify(res));
      writeFileSync(prompt, JSON.stringify(body));
      const record = (res as unknown as { provenance: { record: { record: Kept["record"] } } })
        .provenance.record.record as Kept["record"] & { replay: { grammarHash: string } };
      // auto: the lazy tool call grammar is named by the record, and must stay lazy in the replay
      expect(record.replay.grammarHash).not.toBe("0".repeat(64));
      const r = verify(["--receipt", receipt, "--prompt", prompt, "--model", modelPath]);
      expect(r.out).toMatch(/^reproduced: \d+ tokens/);
      expect(r.code).toBe(0);
    },
    120_000,
  );

  test("a changed prompt or a changed receipt is a clear mismatch", async () => {
    const kept = await ask("tampered", { seed: 99 });
    const otherPrompt = join(dir, "other.messages.json");
    writeFileSync(otherPrompt, JSON.stringify([{ role: "user", content: "Tell me about cats." }]));
    const p = verify(["--receipt", kept.receipt, "--prompt", otherPrompt, "--model", modelPath]);
    expect(p.code).toBe(1);
    expect(p.out).toContain("NOT reproduced: the prompt is not the one this record was made for");

    const body = JSON.parse(await Bun.file(kept.receipt).text());
    body.provenance.record.record.replay.seed = 100;
    const forged = join(dir, "forged.json");
    writeFileSync(forged, JSON.stringify(body));
    const f = verify(["--receipt", forged, "--prompt", kept.prompt, "--model", modelPath]);
    expect(f.code).toBe(1);
    expect(f.out).toContain("NOT reproduced: the receipt does not verify");

    // the receipt's ids, changed, no longer match the signed hash
    const ids = JSON.parse(await Bun.file(kept.receipt).text());
    ids.provenance.outputIds[0] = (ids.provenance.outputIds[0] + 1) % 32;
    writeFileSync(forged, JSON.stringify(ids));
    const i = verify(["--receipt", forged, "--prompt", kept.prompt, "--model", modelPath]);
    expect(i.out).toContain("the output ids are not the ones the record names");

    // another model file: its SHA-256 is not the record's
    const other = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0", seed: 2 });
    const m = verify(["--receipt", kept.receipt, "--prompt", kept.prompt, "--model", other]);
    expect(m.code).toBe(1);
    expect(m.out).toContain("is not the one the record names");
  }, 120_000);

  test("the node's chain weighs every one of these answers: all are open to audit", async () => {
    const { code } = await served.stop(); // seals what is pending
    expect(code).toBe(0);
    const r = Bun.spawnSync(
      [
        process.execPath,
        "src/main.ts",
        "ledger",
        "verify",
        "--json",
        "--data-dir",
        join(dir, "node"),
      ],
      { cwd: ROOT },
    );
    const summary = JSON.parse(r.stdout.toString());
    expect(summary).toMatchObject({ ok: true, unauditableRecords: 0, auditableRecords: 5 });
    expect(summary.weight).toBe(summary.totalTokens);
    expect(summary.weight).toBeGreaterThan(0);
  }, 60_000);
});
