/**
 * POST /v1/embeddings and Ollama's /api/embed against a real `aria serve` process serving a
 * generated BitNet embedding model (bitnet-embedding-0.6b's metadata and shapes, 2 blocks: see
 * tests/embedding/bitnet-embedding-forward.test.ts), with the official `openai` client: the
 * vectors equal the TypeScript reference forward pass's (final norm of the last token — the file
 * says last pooling — then L2), float and base64 agree, token-array inputs equal text inputs;
 * errors for empty input, too-long input (400 naming n_ctx), dimensions the model cannot give,
 * chat on an embedding model; the consent policy can refuse the kind "embed" (403, nothing
 * recorded) and allowed work is recorded in the ledger with its prompt hash.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { openGguf } from "../../src/model/index.ts";
import { createTokenizer, vocabSourceFromGguf } from "../../src/tokenizer/index.ts";
import { ReferenceModel } from "../helpers/reference-forward.ts";
import { EMBEDDING_MODEL, testModel } from "../helpers/models.ts";
import { type ServeProc, startServe } from "../helpers/aria-serve.ts";

setDefaultTimeout(300_000);

const ROOT = join(import.meta.dir, "..", "..");
const N_CTX = 64;
const TEXTS = ["The capital of France is Paris", "hello world"];

let dir = "";
let modelPath = "";
let aria: ServeProc | undefined;
let client: OpenAI;
let reference: (ids: readonly number[]) => Float32Array;
let tokenize: (text: string) => number[];

function ariaCli(args: string[]) {
  const r = Bun.spawnSync([process.execPath, "src/main.ts", ...args, "--data-dir", dir], {
    cwd: ROOT,
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

async function serve(): Promise<void> {
  aria = await startServe([
    "--model",
    modelPath,
    "--port",
    "0",
    "--data-dir",
    dir,
    "--ctx",
    String(N_CTX),
    "--parallel",
    "2",
    "--threads",
    "2",
    // the peer network on: requests go through its backend wrapper (src/p2p/router.ts)
    "--p2p-port",
    "0",
  ]);
  expect(aria.p2pUrl).not.toBeNull();
  client = new OpenAI({ baseURL: `${aria.url}/v1`, apiKey: "none" });
}

async function stop(): Promise<void> {
  await aria?.stop();
  aria = undefined;
}

function ledgerRecords(): { requestId: string; promptHash: string; completionTokens: number }[] {
  const db = new Database(join(dir, "ledger.sqlite"), { readonly: true });
  try {
    return db.query<{ signed_json: string }, []>("SELECT signed_json FROM records ORDER BY seq")
      .all().map((r) => (JSON.parse(r.signed_json) as { record: never }).record)
      // inference records only (a consent change is a policy-change record)
      .filter((r: { requestId?: string }) => r.requestId !== undefined);
  } finally {
    db.close();
  }
}

const post = (path: string, body: unknown) =>
  fetch(`${aria!.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

function expectClose(got: ArrayLike<number>, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  let maxDiff = 0;
  let dot = 0;
  for (let i = 0; i < want.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want[i]!));
    dot += got[i]! * want[i]!;
  }
  expect(dot).toBeGreaterThan(0.9999);
  expect(maxDiff).toBeLessThan(3e-3);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "aria-embeddings-e2e-"));
  modelPath = await testModel(EMBEDDING_MODEL);
  const { file } = openGguf(modelPath);
  const tokenizer = createTokenizer(vocabSourceFromGguf(file));
  tokenize = (text) => tokenizer.encode(text, { parseSpecial: true });
  const model = ReferenceModel.fromBytes(new Uint8Array(readFileSync(modelPath)));
  reference = (ids) => {
    const seq = model.newSequence();
    let final: Float32Array<ArrayBufferLike> = new Float32Array();
    for (const id of ids) final = seq.evalTrace(id).final;
    let ss = 0;
    for (const x of final) ss += x * x;
    return Float32Array.from(final, (x) => x / Math.sqrt(ss));
  };
  await serve();
});

afterAll(async () => {
  await stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("POST /v1/embeddings (openai client, real aria serve)", () => {
  test("the vectors are the reference forward pass's last-token embeddings, L2-normalized", async () => {
    const ids = TEXTS.map(tokenize);
    // the file asks for BOS and EOS (add_eos_token: the token last pooling reads)
    for (const t of ids) expect(t.at(-1)).toBe(2);
    // the served id is the file name
    const model = (await client.models.list()).data[0]!.id;
    const r = await client.embeddings.create({ model, input: TEXTS, encoding_format: "float" });
    expect(r.object).toBe("list");
    expect(r.data.map((d) => d.index)).toEqual([0, 1]);
    expect(r.usage.prompt_tokens).toBe(ids[0]!.length + ids[1]!.length);
    r.data.forEach((d, i) => expectClose(d.embedding, reference(ids[i]!)));
  });

  test("base64 (the client's default) equals float; token arrays equal text", async () => {
    const model = (await client.models.list()).data[0]!.id;
    const asFloat = await client.embeddings.create({
      model,
      input: TEXTS[0]!,
      encoding_format: "float",
    });
    const asB64 = await client.embeddings.create({ model, input: TEXTS[0]! }); // decoded by the client
    expect(asB64.data[0]!.embedding).toEqual(asFloat.data[0]!.embedding);
    const ids = tokenize(TEXTS[0]!);
    const fromIds = await client.embeddings.create({ model, input: ids, encoding_format: "float" });
    expect(fromIds.data[0]!.embedding).toEqual(asFloat.data[0]!.embedding);
    const many = await client.embeddings.create({
      model,
      input: [ids, tokenize(TEXTS[1]!)],
      encoding_format: "float",
    });
    expect(many.data[0]!.embedding).toEqual(asFloat.data[0]!.embedding);
    expect(many.data).toHaveLength(2);
  });

  test("concurrent requests (more inputs than slots) give the same vectors", async () => {
    const model = (await client.models.list()).data[0]!.id;
    const alone = await client.embeddings.create({
      model,
      input: TEXTS[1]!,
      encoding_format: "float",
    });
    const all = await Promise.all(
      [0, 1, 2].map(() =>
        client.embeddings.create({ model, input: [...TEXTS, ...TEXTS], encoding_format: "float" })
      ),
    );
    for (const r of all) {
      expect(r.data).toHaveLength(4);
      expect(r.data[3]!.embedding).toEqual(alone.data[0]!.embedding);
    }
  });

  test("errors: empty input, too long, dimensions, chat on an embedding model", async () => {
    const model = (await client.models.list()).data[0]!.id;
    for (const input of ["", [], [""], [[]]]) {
      const res = await post("/v1/embeddings", { model, input });
      expect(res.status).toBe(400);
    }
    const long = await post("/v1/embeddings", { model, input: [Array(N_CTX + 1).fill(450)] });
    expect(long.status).toBe(400);
    const longErr = (await long.json()) as { error: { code: string; message: string } };
    expect(longErr.error.code).toBe("context_length_exceeded");
    expect(longErr.error.message).toContain(`${N_CTX}`);
    const badId = await post("/v1/embeddings", { model, input: [[1, 10_000_000]] });
    expect(badId.status).toBe(400);
    const dims = await post("/v1/embeddings", { model, input: "x", dimensions: 256 });
    expect(dims.status).toBe(400);
    expect(((await dims.json()) as { error: { param: string } }).error.param).toBe("dimensions");
    const same = await post("/v1/embeddings", { model, input: "x", dimensions: 1024 });
    expect(same.status).toBe(200);
    const chat = await post("/v1/chat/completions", {
      model,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: { message: string } }).error.message)
      .toContain("embedding model");
  });

  test("Ollama's /api/embed gives the same vectors; truncate:false refuses a long input", async () => {
    const model = (await client.models.list()).data[0]!.id;
    const openai = await client.embeddings.create({
      model,
      input: TEXTS,
      encoding_format: "float",
    });
    const res = await post("/api/embed", { model, input: TEXTS });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { embeddings: number[][]; prompt_eval_count: number };
    expect(body.embeddings).toEqual(openai.data.map((d) => d.embedding));
    expect(body.prompt_eval_count).toBe(openai.usage.prompt_tokens);
    const long = "word ".repeat(N_CTX * 2);
    expect((await post("/api/embed", { model, input: long })).status).toBe(200); // truncated
    const refused = await post("/api/embed", { model, input: long, truncate: false });
    expect(refused.status).toBe(400);
  });
});

describe("consent and ledger of embedding work", () => {
  test("a policy without 'embed' refuses it (403) and records nothing", async () => {
    await stop();
    expect(ariaCli(["consent", "set", "kinds", "chat,completion"]).code).toBe(0);
    await serve();
    const before = ledgerRecords().length;
    const model = (await client.models.list()).data[0]!.id;
    const res = await post("/v1/embeddings", { model, input: "hello" });
    expect(res.status).toBe(403);
    const err = (await res.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe("CONSENT_DENIED");
    expect(err.error.message).toContain("embed");
    expect((await post("/api/embed", { model, input: "hello" })).status).toBe(403);
    await stop();
    expect(ledgerRecords().length).toBe(before);
  });

  test("allowed embedding work is recorded: embd- id, prompt hash over the inputs, 0 completion tokens", async () => {
    expect(ariaCli(["consent", "set", "kinds", "chat,completion,embed"]).code).toBe(0);
    await serve();
    const model = (await client.models.list()).data[0]!.id;
    const res = await post("/v1/embeddings", { model, input: ["hello", "world"] });
    expect(res.status).toBe(200);
    const hash = res.headers.get("x-aria-provenance");
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    await stop();
    const last = ledgerRecords().at(-1)!;
    expect(last.requestId).toStartWith("embd-");
    expect(last.completionTokens).toBe(0);
    const want = createHash("sha256").update(JSON.stringify(["embed", ["hello", "world"]]))
      .digest("hex");
    expect(last.promptHash).toBe(want);
    expect(ariaCli(["ledger", "verify"]).code).toBe(0);
  });
});
