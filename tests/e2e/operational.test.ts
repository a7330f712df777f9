/**
 * llama-server's operational endpoints (/tokenize, /detokenize, /apply-template, /props) and the
 * token text of logprobs, against a real `aria serve` with the built-in aria-nano. The ids are
 * checked against the tokenizer read from the same GGUF file in this process.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { resolveModelPath } from "../../src/model/builtin.ts";
import { openGguf } from "../../src/model/open.ts";
import { createTokenizer } from "../../src/tokenizer/index.ts";
import { vocabSourceFromGguf } from "../../src/tokenizer/vocab.ts";
import { listeningUrl } from "../helpers/serve-proc.ts";

const ROOT = join(import.meta.dir, "..", "..");

let dataDir = "";
let proc: ReturnType<typeof Bun.spawn>;
let url = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "aria-ops-"));
  proc = Bun.spawn(
    [process.execPath, "src/main.ts", "serve", "--port", "0", "--data-dir", dataDir],
    { cwd: ROOT, stdout: "pipe", stderr: "ignore", env: { ...process.env, ARIA_HOME: dataDir } },
  );
  url = await listeningUrl(proc);
}, 120_000);

afterAll(() => {
  proc?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe("llama-server's operational endpoints", () => {
  test("/tokenize gives the model's own ids; /detokenize reverses them", async () => {
    const { file } = openGguf(await resolveModelPath(undefined, dataDir));
    const tokenizer = createTokenizer(vocabSourceFromGguf(file));
    const content = "The jury said it was fine, é 🙂.";
    const r = await post("/tokenize", { content });
    expect(r.status).toBe(200);
    const ids = (r.json as { tokens: number[] }).tokens;
    expect(ids).toEqual(tokenizer.encode(content, { addBos: false, addEos: false }));
    const withBos = (await post("/tokenize", { content, add_special: true })).json as {
      tokens: number[];
    };
    expect(withBos.tokens).toEqual(tokenizer.encode(content, { addBos: true }));
    const pieces = (await post("/tokenize", { content: "The jury", with_pieces: true })).json as {
      tokens: { id: number; piece: string | number[] }[];
    };
    expect(pieces.tokens.map((t) => t.piece).join("")).toBe("The jury");
    expect((await post("/detokenize", { tokens: ids })).json).toEqual({ content });
  });

  test("bad input is a 400 naming the field", async () => {
    const r = await post("/detokenize", { tokens: [1, 999_999_999] });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toContain("tokens[1]");
    expect((await post("/tokenize", { content: 5 })).status).toBe(400);
    expect((await post("/tokenize", { content: "x", model: "other" })).status).toBe(404);
  });

  test("/apply-template renders the chat template; /props describes the model", async () => {
    const r = await post("/apply-template", {
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi there" }],
    });
    expect(r.status).toBe(200);
    const prompt = (r.json as { prompt: string }).prompt;
    expect(prompt).toContain("Be brief.");
    expect(prompt).toContain("Hi there");
    const props = await (await fetch(`${url}/props`)).json() as Record<string, unknown>;
    expect(props["model"]).toBe("aria-nano");
    expect(props["n_ctx"]).toBeGreaterThan(0);
    expect(props["total_slots"]).toBeGreaterThan(0);
    expect(String(props["chat_template"]).length).toBeGreaterThan(0);
  });

  test("logprobs carry each token's text and bytes (OpenAI's shape)", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "none" });
    const r = await client.chat.completions.create({
      model: "aria-nano",
      messages: [{ role: "user", content: "The jury" }],
      max_tokens: 6,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = r.choices[0]!.logprobs!.content!;
    expect<string | null>(content.map((t) => t.token).join("")).toBe(r.choices[0]!.message.content);
    for (const t of content) {
      expect(new TextDecoder().decode(new Uint8Array(t.bytes!))).toBe(t.token);
      expect(new Set(t.top_logprobs.map((a) => a.token)).size).toBe(3);
    }
  });
});
