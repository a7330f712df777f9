/**
 * Tool calling in the native backend on a generated model (random weights, Llama-3 vocabulary,
 * built-in bitnet-b1.58 template): the tools and the history reach the prompt, and the tool
 * grammar of `tool_choice: "required"` makes random weights write calls the API's parser reads
 * and whose arguments fit the schema.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { parseToolCalls } from "../../src/api/_tool-calls.ts";
import type { CompletionRequest } from "../../src/contract/index.ts";
import { MAX_PARALLEL_TOOL_CALLS, toolCallGrammar } from "../../src/grammar/index.ts";
import { NativeBackend } from "../../src/serve/native-backend.ts";
import { SimulationBackend } from "../../src/serve/simulation-backend.ts";
import { UnsupportedParameterError } from "../../src/shared/errors.ts";
import { testModel } from "../helpers/models.ts";

let modelPath = "";
beforeAll(async () => {
  modelPath = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
});

const PARAMS = {
  type: "object",
  properties: { n: { type: "integer", minimum: 0, maximum: 99 }, u: { enum: ["c", "f"] } },
  required: ["n", "u"],
  additionalProperties: false,
};
const TOOLS = [{ name: "temp", parameters: PARAMS }, { name: "now" }];

async function run(backend: NativeBackend, req: CompletionRequest) {
  const gen = backend.complete(req, new AbortController().signal);
  let text = "";
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) text += step.value.text;
  return { text: text + step.value.tail, result: step.value };
}

describe("NativeBackend with tools", () => {
  test("required: every call parses and fits its schema; tools lengthen the prompt", async () => {
    const backend = new NativeBackend({ modelPath, nodeId: "n1", parallel: 2, queue: 4 });
    await backend.ready;
    const messages = [{ role: "user" as const, content: "Temperature?" }];
    const grammar = toolCallGrammar(TOOLS.slice(0, 1), { parallel: true });
    for (const seed of [1, 2, 3]) {
      const req: CompletionRequest = {
        id: `t${seed}`,
        model: "m",
        input: { kind: "chat", messages, tools: TOOLS },
        maxTokens: 200,
        sampling: { temperature: 1, topK: 0 },
        seed,
        stop: [],
        grammar,
      };
      const { text, result } = await run(backend, req);
      const parsed = parseToolCalls(text, {
        names: new Set(["temp", "now"]),
        maxCalls: MAX_PARALLEL_TOOL_CALLS,
      });
      // a cut last call (max_tokens) stays content; the finished ones are well formed
      if (result.finishReason === "stop") expect(parsed.content).toBeNull();
      expect(parsed.calls.length).toBeGreaterThan(0);
      for (const call of parsed.calls) {
        expect(call.name).toBe("temp");
        const args = JSON.parse(call.arguments) as { n: number; u: string };
        expect(Object.keys(args).sort()).toEqual(["n", "u"]);
        expect(Number.isInteger(args.n) && args.n >= 0 && args.n <= 99).toBe(true);
        expect(["c", "f"]).toContain(args.u);
      }
    }
    const bare = await run(backend, {
      id: "b",
      model: "m",
      input: { kind: "chat", messages },
      maxTokens: 1,
      sampling: { temperature: 0 },
      stop: [],
    });
    const withTools = await run(backend, {
      id: "w",
      model: "m",
      input: {
        kind: "chat",
        tools: TOOLS,
        messages: [
          ...messages,
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "c1", name: "temp", arguments: '{"n": 20, "u": "c"}' }],
          },
          { role: "tool", content: "20", toolCallId: "c1" },
        ],
      },
      maxTokens: 1,
      sampling: { temperature: 0 },
      stop: [],
    });
    const rendered = backend.text(backend.listModels()[0]!.id)!.applyTemplate(
      [{ role: "user", content: "x" }],
      TOOLS,
    );
    expect(rendered).toContain('{"name":"temp","parameters":');
    expect(withTools.result.usage.promptTokens).toBeGreaterThan(
      bare.result.usage.promptTokens + 50,
    );
    await backend.close();
  }, 120_000);
});

describe("NativeBackend with a lazy tool grammar (auto)", () => {
  test("a call started (continueFrom) is finished well formed, then the text is free", async () => {
    const backend = new NativeBackend({ modelPath, nodeId: "n1", parallel: 1, queue: 2 });
    await backend.ready;
    const model = backend.listModels()[0]!.id;
    const start = "Sure.<tool_call>\n{";
    const forced = backend.text(model)!.encode(start, { addSpecial: false, parseSpecial: false });
    for (const seed of [1]) {
      const { text } = await run(backend, {
        id: `a${seed}`,
        model,
        input: {
          kind: "chat",
          messages: [{ role: "user", content: "Temperature?" }],
          tools: TOOLS,
        },
        maxTokens: 80, // the call's rest takes ~30; random weights then write free text
        sampling: { temperature: 1, topK: 0 },
        seed,
        stop: [],
        grammar: toolCallGrammar(TOOLS.slice(0, 1), { parallel: false }),
        grammarTrigger: "<tool_call>",
        continueFrom: forced,
      });
      const parsed = parseToolCalls(start + text, { names: new Set(["temp", "now"]), maxCalls: 8 });
      expect(parsed.calls.length).toBeGreaterThan(0);
      expect(parsed.content!.startsWith("Sure.")).toBe(true);
      const first = parsed.calls[0]!;
      expect(first.name).toBe("temp");
      const args = JSON.parse(first.arguments) as { n: number; u: string };
      expect(Number.isInteger(args.n) && ["c", "f"].includes(args.u)).toBe(true);
    }
    await backend.close();
  }, 120_000);
});

describe("backends that cannot render tools", () => {
  test("the simulation backend refuses tools, calls and call ids (a 400, not dropped)", async () => {
    const sim = new SimulationBackend("n1");
    const base: CompletionRequest = {
      id: "s",
      model: sim.listModels()[0]!.id,
      input: { kind: "chat", messages: [{ role: "user", content: "x" }] },
      sampling: { temperature: 0 },
      stop: [],
    };
    const inputs: CompletionRequest["input"][] = [
      { kind: "chat", messages: [{ role: "user", content: "x" }], tools: [{ name: "f" }] },
      {
        kind: "chat",
        messages: [{
          role: "assistant",
          content: "",
          toolCalls: [{ id: "c", name: "f", arguments: "{}" }],
        }],
      },
      { kind: "chat", messages: [{ role: "tool", content: "1", toolCallId: "c" }] },
    ];
    for (const input of inputs) {
      const gen = sim.complete({ ...base, input }, new AbortController().signal);
      await expect(gen.next()).rejects.toBeInstanceOf(UnsupportedParameterError);
    }
    // without tools it answers
    const ok = await sim.complete(base, new AbortController().signal).next();
    expect(ok.done).toBe(false);
    await sim.close();
  });
});
