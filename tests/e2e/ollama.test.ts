/**
 * Ollama's API against a real `aria serve` (the built-in aria-nano, a fresh data dir), through
 * the official `ollama` npm client, as an Ollama-only program would use it: list, show, ps,
 * version, chat and generate (streamed and whole), options, and errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { Ollama } from "ollama";
import { listeningUrl } from "../helpers/serve-proc.ts";

const ROOT = join(import.meta.dir, "..", "..");

let dataDir = "";
let proc: ReturnType<typeof Bun.spawn>;
let url = "";
let ollama: Ollama;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "aria-ollama-"));
  proc = Bun.spawn(
    [process.execPath, "src/main.ts", "serve", "--port", "0", "--data-dir", dataDir],
    { cwd: ROOT, stdout: "pipe", stderr: "ignore", env: { ...process.env, ARIA_HOME: dataDir } },
  );
  url = await listeningUrl(proc);
  ollama = new Ollama({ host: url });
}, 120_000);

afterAll(() => {
  proc?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("the ollama client against aria serve", () => {
  test("list, show, ps and version describe the served model", async () => {
    const { models } = await ollama.list();
    expect(models.map((m) => m.name)).toEqual(["aria-nano:latest"]);
    expect(models[0]!.details.format).toBe("gguf");
    expect(models[0]!.details.family).toBe("bitnet"); // aria-nano's GGUF architecture
    expect(models[0]!.details.quantization_level).toBe("TQ2_0");
    expect(models[0]!.size).toBeGreaterThan(1_000_000);
    const shown = await ollama.show({ model: "aria-nano" });
    expect(shown.template.length).toBeGreaterThan(0);
    expect(shown.model_info["general.architecture" as keyof typeof shown.model_info])
      .toBe("bitnet");
    const ps = await ollama.ps();
    expect(ps.models.map((m) => m.name)).toEqual(["aria-nano:latest"]);
    expect((await ollama.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("chat, whole and streamed, give the same greedy text", async () => {
    const messages = [{ role: "user", content: "The jury said" }];
    const options = { temperature: 0, num_predict: 12 };
    const whole = await ollama.chat({ model: "aria-nano:latest", messages, options });
    expect(whole.done).toBe(true);
    expect(whole.message.role).toBe("assistant");
    expect(whole.message.content.length).toBeGreaterThan(0);
    expect(whole.eval_count).toBe(12);
    expect(whole.done_reason).toBe("length");
    expect(whole.prompt_eval_count).toBeGreaterThan(0);
    let streamed = "";
    let last: { done: boolean; eval_count: number } | undefined;
    for await (
      const part of await ollama.chat({ model: "aria-nano", messages, options, stream: true })
    ) {
      streamed += part.message.content;
      last = part;
    }
    expect(streamed).toBe(whole.message.content);
    expect(last?.done).toBe(true);
    expect(last?.eval_count).toBe(12);
  });

  test("generate: templated and raw prompts, streamed, and the receipt on the last line", async () => {
    const options = { temperature: 0, num_predict: 8, seed: 1 };
    const raw = await ollama.generate({
      model: "aria-nano",
      prompt: "The jury",
      raw: true,
      options,
    });
    const text = raw.response ?? "";
    expect(text.length).toBeGreaterThan(0);
    let streamed = "";
    let provenance: unknown;
    for await (
      const part of await ollama.generate({
        model: "aria-nano",
        prompt: "The jury",
        raw: true,
        options,
        stream: true,
      })
    ) {
      streamed += part.response;
      if (part.done) provenance = (part as unknown as { provenance?: unknown }).provenance;
    }
    expect(streamed).toBe(text);
    expect(provenance).toMatchObject({ kind: "aria.receipt" });
    const loaded = await ollama.generate({ model: "aria-nano", prompt: "" });
    expect(loaded.done).toBe(true);
    expect(loaded.response).toBe("");
  });

  test("format with a JSON Schema: every answer parses and validates, streamed too", async () => {
    const schema = {
      type: "object",
      properties: {
        name: { type: "string", maxLength: 12 },
        age: { type: "integer", minimum: 0, maximum: 120 },
        tags: { type: "array", items: { enum: ["a", "b"] }, maxItems: 3 },
      },
      required: ["name", "age"],
      additionalProperties: false,
    };
    const validate = new Ajv().compile(schema);
    for (const seed of [1, 2, 3]) {
      const r = await ollama.chat({
        model: "aria-nano",
        messages: [{ role: "user", content: "A person as JSON" }],
        format: schema,
        options: { temperature: 1, seed, num_predict: 200 },
      });
      const value: unknown = JSON.parse(r.message.content);
      expect(validate(value)).toBe(true);
    }
    let text = "";
    for await (
      const part of await ollama.generate({
        model: "aria-nano",
        prompt: "JSON:",
        format: schema, // bounded (unlike "json", which may outrun num_predict)
        stream: true,
        options: { seed: 4, num_predict: 200 },
      })
    ) text += part.response ?? "";
    expect(validate(JSON.parse(text))).toBe(true);
  });

  test("errors come back in Ollama's shape with a status", async () => {
    const unknown = ollama.chat({ model: "llama3", messages: [{ role: "user", content: "x" }] });
    await expect(unknown).rejects.toMatchObject({ status_code: 404 });
    const res = await fetch(`${url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "aria-nano", prompt: "x", options: { mirostat: 2 } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain("mirostat");
    const big = await fetch(`${url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({
        model: "aria-nano",
        messages: [{ role: "user", content: "x" }],
        options: { num_ctx: 1 << 20 },
      }),
    });
    expect(big.status).toBe(400);
    expect(((await big.json()) as { error: string }).error).toContain("num_ctx");
    const badTopP = await fetch(`${url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "aria-nano", prompt: "x", options: { top_p: 0 } }),
    });
    expect(badTopP.status).toBe(400);
  });
});
