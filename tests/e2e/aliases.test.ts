/**
 * `aria serve --alias`: more names for the served model, listed by /v1/models and accepted in
 * `model` by the OpenAI and Ollama routes (a real `aria serve`, the built-in aria-nano); and the
 * model id of `--model` given as a registry name.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { modelIdOf } from "../../src/node/pipeline-roles.ts";
import { listeningUrl } from "../helpers/serve-proc.ts";

const ROOT = join(import.meta.dir, "..", "..");

let dataDir = "";
let proc: ReturnType<typeof Bun.spawn>;
let url = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "aria-alias-"));
  proc = Bun.spawn(
    [
      process.execPath,
      "src/main.ts",
      "serve",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--alias",
      "gpt-4o-mini",
      "--alias",
      "nano/v1",
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "ignore", env: { ...process.env, ARIA_HOME: dataDir } },
  );
  url = await listeningUrl(proc);
}, 120_000);

afterAll(() => {
  proc?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("aria serve --alias", () => {
  test("/v1/models lists the model and its aliases; an alias answers as the model", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "none" });
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(["aria-nano", "gpt-4o-mini", "nano/v1"]);
    expect((await client.models.retrieve("nano/v1")).id).toBe("nano/v1");
    const r = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "The jury" }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(r.model).toBe("aria-nano");
    expect(r.choices[0]!.message.content!.length).toBeGreaterThan(0);
    const unknown = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }),
    });
    expect(unknown.status).toBe(404);
  });

  test("Ollama's routes take an alias (with or without :latest)", async () => {
    const res = await fetch(`${url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({
        model: "gpt-4o-mini:latest",
        prompt: "The jury",
        raw: true,
        stream: false,
        options: { num_predict: 3, temperature: 0 },
      }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { done: boolean }).done).toBe(true);
  });
});

describe("the served model's id", () => {
  test("the built-in model, a registry name, a file", () => {
    expect(modelIdOf({ model: undefined }, "/x/aria-nano.abc.gguf")).toBe("aria-nano");
    // `--model aria-2b-1bit` (the help's example) is answered under that name, not the file's
    expect(modelIdOf({ model: "aria-2b-1bit" }, "/d/models/ggml-model-i2_s.gguf")).toBe(
      "aria-2b-1bit",
    );
    expect(modelIdOf({ model: "/m/my-model.gguf" }, "/m/my-model.gguf")).toBe("my-model");
  });
});
