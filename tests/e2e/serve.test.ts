/**
 * `aria serve` end to end: a real process on a free port, the official `openai` client.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { basename, join } from "node:path";
import { testModel } from "../helpers/models.ts";
import { listeningUrl } from "../helpers/serve-proc.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = process.execPath;

interface Served {
  proc: ReturnType<typeof Bun.spawn>;
  url: string;
}

async function serve(args: string[]): Promise<Served> {
  const proc = Bun.spawn([BUN, "src/main.ts", "serve", "--port", "0", ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, ARIA_HOME: join(ROOT, "tests", "fixtures", "generated", "no-home") },
  });
  return { proc, url: await listeningUrl(proc) };
}

let model = "";
let served: Served;
let client: OpenAI;

beforeAll(async () => {
  const path = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
  model = basename(path, ".gguf");
  served = await serve(["--model", path, "--parallel", "4"]);
  client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: "none" });
});
afterAll(() => served?.proc.kill());

async function streamed(content: string, maxTokens = 16): Promise<string> {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content }],
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
  });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  return text;
}

describe("aria serve", () => {
  test("models.list, chat, streamed chat, completions", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([model]);
    const chat = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(chat.id).toStartWith("chatcmpl-");
    expect(chat.usage?.completion_tokens).toBeGreaterThan(0);
    expect(await streamed("Hello", 8)).toBe(chat.choices[0]!.message.content!);
    const completion = await client.completions.create({
      model,
      prompt: "Once upon a time",
      max_tokens: 8,
      temperature: 0,
    });
    expect(completion.choices[0]!.finish_reason).toBe("length");
  });

  test("an unknown model is a 404 model_not_found", async () => {
    const err = await client.chat.completions.create({
      model: "no-such-model",
      messages: [{ role: "user", content: "Hi" }],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });

  test("8 concurrent streamed greedy requests equal each request run alone", async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => `Tell me story ${i}`);
    const alone: string[] = [];
    for (const p of prompts) alone.push(await streamed(p));
    const together = await Promise.all(prompts.map((p) => streamed(p)));
    expect(together).toEqual(alone);
  });

  test("--api-key requires the key on /v1/* and leaves /health open", async () => {
    const path = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
    const s = await serve(["--model", path, "--api-key", "sekret"]);
    try {
      expect((await fetch(`${s.url}/v1/models`)).status).toBe(401);
      const ok = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "sekret", maxRetries: 0 });
      expect((await ok.models.list()).data.map((m) => m.id)).toEqual([model]);
      const wrong = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "guess", maxRetries: 0 });
      let status = 0;
      try {
        await wrong.models.list();
      } catch (err: unknown) {
        status = (err as { status?: number }).status ?? -1;
      }
      expect(status).toBe(401);
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
    } finally {
      s.proc.kill();
    }
  });

  test("SIGTERM with a request in flight exits 0", async () => {
    const path = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
    const s = await serve(["--model", path]);
    const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "none", maxRetries: 0 });
    const stream = await c.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Go" }],
      max_tokens: 500, // fits the 512-position context after the prompt (a larger one is a 400)
      temperature: 0,
      stream: true,
    });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    s.proc.kill("SIGTERM");
    const drained = (async () => {
      try {
        for (let r = await it.next(); !r.done; r = await it.next());
      } catch {
        // terminated: the stream may end with an error event; only the exit code matters here
      }
    })();
    expect(await s.proc.exited).toBe(0);
    await drained;
  });
});
