/**
 * @module The pipeline over the peer network with real processes on loopback (free ports):
 * four `aria serve --layers` stages of aria-nano (blocks 0-2, 2-4 twice, 4-6) and a coordinator
 * `aria serve --pipeline`, all bootstrapped from the first stage only (the coordinator finds
 * the others by peer exchange). Greedy output through the
 * OpenAI API equals one node token for token; `kill -9` of the middle stage mid-generation gives
 * the identical text through its replica; a peer that has not finished the handshake cannot
 * send stage frames.
 */
import { type Receipt, sha256Text, verifyReceipt } from "../../src/ledger/index.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CompletionRequest } from "../../src/contract/index.ts";
import { NativeBackend } from "../../src/serve/native-backend.ts";
import { encodeStageMessage } from "../../src/pipeline/stage-wire.ts";
import { encodeTensorFrame } from "../../src/pipeline/tensor-frame.ts";
import { type Node, peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";
import { tokenizerOf } from "../helpers/pipeline.ts";

const NANO = join(import.meta.dir, "..", "..", "static", "models", "aria-nano.gguf");
const procs = new ProcessGroup();
const STAGE_FLAGS = ["--threads", "1", "--output-head", "float", "--ctx", "256"];
const N_TOKENS = 160;

let stages: Record<"a" | "b" | "b2" | "c", Node>;
let coordinator: Node;

beforeAll(async () => {
  // every node bootstraps from stage a; the coordinator finds the others by peer exchange
  const a = await procs.stage("a", ["--layers", "0-2", ...STAGE_FLAGS]);
  const [b, b2, c] = await Promise.all([
    procs.stage("b", ["--layers", "2-4", "--peers", a.ws, ...STAGE_FLAGS]),
    procs.stage("b2", ["--layers", "2-4", "--peers", a.ws, ...STAGE_FLAGS]),
    procs.stage("c", ["--layers", "4-end", "--peers", a.ws, ...STAGE_FLAGS]),
  ]);
  stages = { a, b: b!, b2: b2!, c: c! };
  coordinator = await procs.serve("coordinator", ["--pipeline", "--peers", a.ws, "--ctx", "256"]);
  await until(async () => {
    const seen = (await peers(coordinator)).peers;
    return seen.length === 4 &&
      seen.every((p) =>
        p.models.some((m) => m.layers != null && m.sha256 !== undefined && m.sha256 !== "")
      );
  }, "the coordinator to hold four stage adverts with the model hash");
}, 60_000);

afterAll(() => procs.close());

const EOS = tokenizerOf(NANO).eosId!;
// EOS banned so that every run generates N_TOKENS and the kill lands mid-generation
const BODY = {
  model: "aria-nano",
  prompt: "Once upon a time there was a little robot who",
  max_tokens: N_TOKENS,
  temperature: 0,
  logit_bias: { [String(EOS)]: -100 },
};

/** The same request on one node with the whole model, in this process. */
async function singleNodeText(): Promise<string> {
  const native = new NativeBackend({
    modelPath: NANO,
    outputHead: "float",
    nodeId: "local",
    threads: 1,
    parallel: 1,
    queue: 1,
    ctx: 256,
  });
  const request: CompletionRequest = {
    id: "ref",
    model: "aria-nano",
    input: { kind: "text", prompt: BODY.prompt },
    maxTokens: N_TOKENS,
    sampling: { temperature: 0, logitBias: new Map([[EOS, -100]]) },
    stop: [],
  };
  try {
    const gen = native.complete(request, new AbortController().signal);
    let text = "";
    for (let r = await gen.next();; r = await gen.next()) {
      if (r.done) return text + r.value.tail;
      text += r.value.text;
    }
  } finally {
    await native.close();
  }
}

async function complete(): Promise<
  { text: string; servedBy: string[]; tokens: number; provenance: unknown }
> {
  const res = await fetch(`${coordinator.api}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(BODY),
  });
  const json = await res.json() as {
    choices: { text: string }[];
    usage: { completion_tokens: number };
    provenance: unknown;
  };
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`);
  return {
    text: json.choices[0]!.text,
    servedBy: (res.headers.get("x-aria-served-by") ?? "").split(","),
    tokens: json.usage.completion_tokens,
    provenance: json.provenance,
  };
}

async function stageSessions(n: Node): Promise<number> {
  return ((await (await fetch(`${n.api}/stage`)).json()) as { sessions: number }).sessions;
}

/** `aria verify` in a child process. */
function verifyCli(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync([process.execPath, "src/main.ts", "verify", ...args], {
    cwd: join(import.meta.dir, "..", ".."),
  });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

const name = (id: string) =>
  id === coordinator.id
    ? "coordinator"
    : Object.entries(stages).find(([, n]) => n.id === id)?.[0] ?? id;

describe("pipeline over the peer network (processes)", () => {
  test("a coordinator and a 3-stage pipeline give single-node greedy output", async () => {
    const want = await singleNodeText();
    const got = await complete();
    expect(got.tokens).toBe(N_TOKENS);
    expect(got.text).toBe(want);
    const route = got.servedBy.map(name);
    expect([route[0], route[1], route[3]]).toEqual(["coordinator", "a", "c"]);
    expect(["b", "b2"]).toContain(route[2]!);
    // the coordinator records the pipelined answer: signed by it, naming every stage's blocks
    const checked = verifyReceipt(got.provenance);
    expect(checked.ok).toBe(true);
    const { record } = (got.provenance as Receipt).record;
    expect(record.signer as string).toBe(coordinator.id);
    expect(record.outputHash).toBe(sha256Text(got.text));
    expect<unknown[]>(record.nodes.map((n) => [name(n.nodeId), n.layerStart, n.layerEnd])).toEqual([
      ["coordinator", 6, 7],
      ["a", 0, 2],
      [route[2], 2, 4],
      ["c", 4, 6],
    ]);
  }, 60_000);

  test(
    "a sampled answer's record is version 2 and aria verify reproduces it on one machine",
    async () => {
      // the stages advertise contract, head and KV type; hidden states travel as exact f32, so the
      // route's logits are the whole model's and one machine re-runs the answer bit for bit
      const body = {
        model: "aria-nano",
        prompt: "The little robot walked to the",
        max_tokens: 40,
        temperature: 0.9,
        top_p: 0.95,
        repeat_penalty: 1.1,
        seed: 4242,
      };
      const res = await fetch(`${coordinator.api}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      const json = await res.json() as { provenance: Receipt };
      const { record } = json.provenance.record;
      expect(record.version).toBe(2);
      expect(record.signer as string).toBe(coordinator.id);
      expect(record.replay).toMatchObject({ head: "float", kvType: "f32", seed: 4242 });
      expect(record.nodes.length).toBe(4); // coordinator + three stages
      expect(record.replay!.outputIdCount).toBeGreaterThan(0);
      const dir = mkdtempSync(join(tmpdir(), "aria-pipe-verify-"));
      try {
        const receipt = join(dir, "response.json");
        const prompt = join(dir, "request.json");
        writeFileSync(receipt, JSON.stringify(json));
        writeFileSync(prompt, JSON.stringify(body));
        for (const kernels of [[], ["--kernels", "ref"]]) {
          const r = verifyCli([
            "--receipt",
            receipt,
            "--prompt",
            prompt,
            "--model",
            NANO,
            ...kernels,
          ]);
          expect(r.out).toStartWith(
            `reproduced: ${record.replay!.outputIdCount} tokens, bit for bit`,
          );
          expect(r.code).toBe(0);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  test(
    "kill -9 of the middle stage mid-generation gives the identical text via its replica",
    async () => {
      const want = await singleNodeText();
      const pending = complete();
      // the middle stage holding the request's session is the one in use: kill it then
      let victim: "b" | "b2" | undefined;
      await until(
        async () => {
          for (const key of ["b", "b2"] as const) {
            if (await stageSessions(stages[key]) > 0) victim = key;
          }
          return victim !== undefined;
        },
        "a middle stage to open the request's session",
        20_000,
      );
      stages[victim!].proc.kill(9);
      const got = await pending;
      expect(got.text).toBe(want);
      const replica = victim === "b" ? "b2" : "b";
      expect(got.servedBy.map(name)).toEqual(["coordinator", "a", replica, "c"]);
    },
    60_000,
  );

  test("a peer that has not finished the handshake cannot send stage frames", async () => {
    const a = stages.a;
    const ws = new WebSocket(a.ws);
    ws.binaryType = "arraybuffer";
    const errors: string[] = [];
    let binaries = 0;
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return void binaries++;
      const m = JSON.parse(JSON.parse(e.data).msg);
      if (m.kind === "error") errors.push(m.body.code);
    };
    await new Promise((r) => (ws.onopen = r));
    const frame = encodeTensorFrame({
      session: "ab".repeat(16),
      sequence: 1,
      posStart: 0,
      layerBegin: 0,
      layerEnd: 2,
      kind: "tokens",
      tokens: Int32Array.of(1, 2, 3),
    });
    ws.send(encodeStageMessage({ type: "request", id: 1, frame }) as Uint8Array<ArrayBuffer>);
    await until(() => Promise.resolve(errors.length > 0), "the refusal");
    expect(errors).toEqual(["UNAUTHENTICATED"]);
    expect([binaries, await stageSessions(a)]).toEqual([0, 0]);
    ws.close();
  }, 30_000);
});
