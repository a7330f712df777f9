/**
 * The native backend and its scheduler on a generated model: greedy outputs are identical alone
 * and with 7 others in the batch, abort frees the slot, the queue bound holds.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { CompletionRequest, CompletionResult } from "../../src/contract/index.ts";
import { NativeBackend } from "../../src/serve/native-backend.ts";
import { CapacityError } from "../../src/shared/errors.ts";
import { GrammarError, jsonSchemaToGrammar } from "../../src/grammar/index.ts";
import { testModel } from "../helpers/models.ts";

let modelPath = "";
beforeAll(async () => {
  modelPath = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
});

function request(i: number, maxTokens = 24): CompletionRequest {
  return {
    id: `r${i}-${Math.random()}`,
    model: "m",
    input: i % 2 === 0
      ? { kind: "text", prompt: `Story number ${i}: once upon a time` }
      : { kind: "chat", messages: [{ role: "user", content: `Question ${i}?` }] },
    maxTokens,
    sampling: { temperature: 0 },
    stop: [],
  };
}

async function run(
  backend: NativeBackend,
  req: CompletionRequest,
  signal = new AbortController().signal,
): Promise<{ text: string; tokens: number[]; result: CompletionResult }> {
  const gen = backend.complete(req, signal);
  let text = "";
  const tokens: number[] = [];
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) {
    text += step.value.text;
    tokens.push(...step.value.tokens);
  }
  return { text: text + step.value.tail, tokens, result: step.value };
}

describe("NativeBackend", () => {
  test("repack (aria serve's default) serves a TQ1_0 file as TQ2_0; /v1/models says so", async () => {
    const tq1 = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq1_0" });
    for (const repack of [true, false]) {
      const backend = new NativeBackend({
        modelPath: tq1,
        nodeId: "n1",
        parallel: 1,
        queue: 1,
        repack,
      });
      await backend.ready;
      expect(backend.listModels()[0]!.weightTypes).toEqual(repack ? { TQ2_0: 14 } : { TQ1_0: 14 });
      await backend.close();
    }
  });

  test("kvType f16 (aria serve --kv-type f16) serves, and batching stays exact with it", async () => {
    const backend = new NativeBackend({
      modelPath,
      nodeId: "n1",
      parallel: 4,
      queue: 8,
      kvType: "f16",
    });
    await backend.ready;
    const alone = await run(backend, request(3));
    const together = await Promise.all([1, 2, 3, 4].map((i) => run(backend, request(i))));
    expect(alone.tokens.length).toBe(24);
    expect(together[2]!.tokens).toEqual(alone.tokens);
    await backend.close();
  });

  test("a conversation's next turn reuses the cached prefix and answers as a fresh backend does", async () => {
    const warm = new NativeBackend({ modelPath, nodeId: "n1", parallel: 2, queue: 4 });
    const cold = new NativeBackend({ modelPath, nodeId: "n2", parallel: 2, queue: 4 });
    await Promise.all([warm.ready, cold.ready]);
    const turn = (
      messages: { role: "user" | "assistant"; content: string }[],
    ): CompletionRequest => ({
      id: `t-${Math.random()}`,
      model: "m",
      input: { kind: "chat", messages },
      maxTokens: 12,
      sampling: { temperature: 0 },
      stop: [],
    });
    const first = await run(
      warm,
      turn([{ role: "user", content: "Tell me about ternary weights" }]),
    );
    const before = warm.stats().reusedTokens ?? 0;
    const second = turn([
      { role: "user", content: "Tell me about ternary weights" },
      { role: "assistant", content: first.text },
      { role: "user", content: "And then?" },
    ]);
    const reused = await run(warm, second);
    const reusedTokens = (warm.stats().reusedTokens ?? 0) - before;
    expect(reusedTokens).toBeGreaterThan(first.result.usage.promptTokens / 2);
    const fresh = await run(cold, { ...second, id: "fresh" });
    expect(reused.tokens).toEqual(fresh.tokens);
    expect(reused.text).toBe(fresh.text);
    await Promise.all([warm.close(), cold.close()]);
  });

  test("greedy outputs alone equal outputs with 7 others in the batch", async () => {
    const backend = new NativeBackend({ modelPath, nodeId: "n1", parallel: 4, queue: 16 });
    expect(backend.health()).toBe("loading");
    await backend.ready;
    expect(backend.health()).toBe("ready");
    const alone = [];
    for (let i = 0; i < 8; i++) alone.push(await run(backend, request(i)));
    const together = await Promise.all(
      Array.from({ length: 8 }, (_, i) => run(backend, request(i))),
    );
    for (let i = 0; i < 8; i++) {
      expect(together[i]!.tokens).toEqual(alone[i]!.tokens);
      expect(together[i]!.text).toBe(alone[i]!.text);
      expect(together[i]!.result.servedBy).toEqual(["n1"]);
      expect(together[i]!.result.usage.completionTokens).toBe(alone[i]!.tokens.length);
    }
    expect(alone.some((a) => a.tokens.length > 0)).toBe(true);
    expect(backend.stats()).toMatchObject({ queueDepth: 0, activeSequences: 0, slots: 4 });
    await backend.close();
  });

  test("abort frees the slot at once; a full queue throws CapacityError", async () => {
    const backend = new NativeBackend({ modelPath, nodeId: "n1", parallel: 1, queue: 1 });
    await backend.ready;
    const ac = new AbortController();
    const first = backend.complete(request(0, 1000), ac.signal);
    await first.next();
    expect(backend.stats().activeSequences).toBe(1);
    const second = run(backend, request(1, 4));
    await Bun.sleep(1);
    const third = backend.complete(request(2, 4), new AbortController().signal);
    await expect(third.next()).rejects.toBeInstanceOf(CapacityError);
    ac.abort(new Error("client gone"));
    await expect(first.next()).rejects.toThrow("client gone");
    expect(backend.stats().activeSequences).toBe(0);
    const r = await second;
    expect(r.result.usage.completionTokens).toBeLessThanOrEqual(4);
    await backend.close();
  });

  test("a json_schema grammar holds the model's output; a failing grammar fails its request alone", async () => {
    const backend = new NativeBackend({ modelPath, nodeId: "n1", parallel: 3, queue: 4 });
    await backend.ready;
    const schema = {
      type: "object",
      properties: {
        a: { type: "integer", minimum: 0, maximum: 99 },
        b: { enum: ["x", "y"] },
        c: { type: "string", maxLength: 4 },
      },
      required: ["a", "b", "c"],
      additionalProperties: false,
    };
    const constrained = (i: number): CompletionRequest => ({
      ...request(i, 200),
      sampling: { temperature: 1, topK: 0 },
      seed: i,
      grammar: jsonSchemaToGrammar(schema),
    });
    // every "x" doubles the parses: the matcher gives up after about ten tokens
    const failing = { ...request(9, 200), grammar: 'root ::= a\na ::= "x" a "y" | "x" a "z"' };
    const plain = request(5);
    const alone = await run(backend, plain);
    const [bad, good, json] = await Promise.allSettled([
      run(backend, failing),
      run(backend, plain),
      run(backend, constrained(1)),
    ]);
    expect(bad.status).toBe("rejected");
    expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(GrammarError);
    expect((good as PromiseFulfilledResult<Awaited<ReturnType<typeof run>>>).value.tokens).toEqual(
      alone.tokens,
    );
    const outputs = [(json as PromiseFulfilledResult<Awaited<ReturnType<typeof run>>>).value];
    for (let i = 2; i <= 4; i++) outputs.push(await run(backend, constrained(i)));
    for (const out of outputs) {
      expect(out.result.finishReason).toBe("stop");
      const value = JSON.parse(out.text);
      expect(Object.keys(value)).toEqual(["a", "b", "c"]);
      expect(Number.isInteger(value.a) && value.a >= 0 && value.a <= 99).toBe(true);
      expect(["x", "y"]).toContain(value.b);
      expect([...value.c].length).toBeLessThanOrEqual(4);
    }
    await backend.close();
  });
});
