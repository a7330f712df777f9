/**
 * Tool calling through the routes, in-process over the scripted fake backend: what reaches the
 * backend (tools, calls and results of the history, the grammar of "required" / named), and how
 * an output holding `<tool_call>` blocks comes back (OpenAI's message.tool_calls and
 * delta.tool_calls, Ollama's message.tool_calls), whole and streamed, split anywhere.
 */
import { describe, expect, test } from "bun:test";
import { chat, makeApp, post, sseEvents } from "../helpers/api.ts";

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};
const NOW = { type: "function", function: { name: "now" } };
const CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
const CALL2 = '<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>';

/** The output cut into pieces of `n` characters (the fake releases one piece per token). */
function pieces(text: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n));
  return out;
}

type Delta = { content?: string; tool_calls?: Record<string, unknown>[] };

async function streamed(text: string, n: number, extra: Record<string, unknown> = {}) {
  const { app } = makeApp({ pieces: pieces(text, n) });
  const res = await app.request(
    "/v1/chat/completions",
    post(chat({ tools: [WEATHER, NOW], stream: true, ...extra })),
  );
  expect(res.status).toBe(200);
  const events = (await sseEvents(res)).filter((e) => e !== "[DONE]") as {
    choices: { delta: Delta; finish_reason: string | null }[];
  }[];
  const choices = events.flatMap((e) => e.choices);
  return {
    content: choices.map((c) => c.delta.content ?? "").join(""),
    calls: choices.flatMap((c) => c.delta.tool_calls ?? []),
    finish: choices.map((c) => c.finish_reason).filter((f) => f !== null),
  };
}

describe("OpenAI chat completions with tools", () => {
  test("a call in the output becomes message.tool_calls and finish_reason tool_calls", async () => {
    const { app, backend } = makeApp({ pieces: pieces(`${CALL}\n${CALL2}`, 7) });
    const res = await app.request("/v1/chat/completions", post(chat({ tools: [WEATHER, NOW] })));
    expect(res.status).toBe(200);
    const body = await res.json() as {
      choices: { message: Record<string, unknown>; finish_reason: string }[];
    };
    const choice = body.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message["content"]).toBeNull();
    const calls = choice.message["tool_calls"] as {
      id: string;
      type: string;
      function: { name: string; arguments: string };
    }[];
    expect(calls.map((c) => [c.type, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ["function", "get_weather", { city: "Paris" }],
      ["function", "now", {}],
    ]);
    expect(calls[0]!.id).toMatch(/^call_\w+$/);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    // auto: the backend got the tools for the template, and one call's grammar from the trigger on
    const input = backend.requests[0]!.input;
    expect(input.kind === "chat" && input.tools?.map((t) => t.name)).toEqual([
      "get_weather",
      "now",
    ]);
    expect(backend.requests[0]!.grammarTrigger).toBe("<tool_call>");
    expect(backend.requests[0]!.grammar).toContain('\\"get_weather\\"');
    expect(backend.requests[0]!.grammar).not.toContain('("\\n" call)');
  });

  test("streamed at any piece size: the same calls as delta.tool_calls, content the same", async () => {
    const text = `Checking.\n${CALL}\n${CALL2}`;
    for (const n of [1, 3, 5, 11, 200]) {
      const s = await streamed(text, n);
      expect(s.content).toBe("Checking.");
      expect(s.finish).toEqual(["tool_calls"]);
      expect(s.calls.map((c) => [c["index"], (c["function"] as { name: string }).name])).toEqual([
        [0, "get_weather"],
        [1, "now"],
      ]);
      expect(s.calls.every((c) => c["type"] === "function" && /^call_/.test(String(c["id"]))))
        .toBe(true);
    }
  });

  test("text without calls streams unchanged and finishes with stop", async () => {
    const text = "No tools needed <tool_ here.\n";
    const s = await streamed(text, 2);
    expect(s).toEqual({ content: text, calls: [], finish: ["stop"] });
  });

  test("parallel_tool_calls false: the second block stays content", async () => {
    const { app } = makeApp({ pieces: [CALL, "\n", CALL2] });
    const res = await app.request(
      "/v1/chat/completions",
      post(chat({ tools: [WEATHER, NOW], parallel_tool_calls: false })),
    );
    const body = await res.json() as {
      choices: { message: { content: string; tool_calls: unknown[] } }[];
    };
    expect(body.choices[0]!.message.tool_calls).toHaveLength(1);
    expect(body.choices[0]!.message.content).toBe(`\n${CALL2}`);
  });

  test("tool_choice none: no tools for the template, blocks are content", async () => {
    const { app, backend } = makeApp({ pieces: [CALL] });
    const res = await app.request(
      "/v1/chat/completions",
      post(chat({ tools: [WEATHER], tool_choice: "none" })),
    );
    const body = await res.json() as {
      choices: { message: { content: string }; finish_reason: string }[];
    };
    expect(body.choices[0]!.message.content).toBe(CALL);
    expect(body.choices[0]!.finish_reason).toBe("stop");
    const input = backend.requests[0]!.input;
    expect(input.kind === "chat" && input.tools).toBeUndefined();
  });

  test("auto with response_format: the output constraint wins, no trigger", async () => {
    const { app, backend } = makeApp({ pieces: ["{}"] });
    const res = await app.request(
      "/v1/chat/completions",
      post(chat({ tools: [WEATHER], response_format: { type: "json_object" } })),
    );
    expect(res.status).toBe(200);
    expect(backend.requests[0]!.grammarTrigger).toBeUndefined();
    expect(backend.requests[0]!.grammar).not.toContain("get_weather");
  });

  test("required and named choices send a tool grammar to the backend", async () => {
    const { app, backend } = makeApp({ pieces: [CALL] });
    await app.request(
      "/v1/chat/completions",
      post(chat({ tools: [WEATHER, NOW], tool_choice: "required" })),
    );
    await app.request(
      "/v1/chat/completions",
      post(chat({
        tools: [WEATHER, NOW],
        tool_choice: { type: "function", function: { name: "now" } },
      })),
    );
    const [required, named] = backend.requests.map((r) => r.grammar!);
    expect(required).toContain('\\"get_weather\\"');
    expect(required).toContain('\\"now\\"');
    expect(named).not.toContain("get_weather");
    expect(named).toContain('\\"now\\"');
  });

  test("the history's calls and results reach the backend", async () => {
    const { app, backend } = makeApp({ pieces: ["It is sunny."] });
    const res = await app.request(
      "/v1/chat/completions",
      post(chat({
        tools: [WEATHER],
        messages: [
          { role: "user", content: "Weather in Paris?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            }],
          },
          { role: "tool", tool_call_id: "call_1", content: "sunny" },
        ],
      })),
    );
    expect(res.status).toBe(200);
    const input = backend.requests[0]!.input;
    if (input.kind !== "chat") throw new Error("expected a chat");
    expect(input.messages[1]).toEqual({
      role: "assistant",
      content: "",
      toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
    });
    expect(input.messages[2]).toEqual({ role: "tool", content: "sunny", toolCallId: "call_1" });
  });

  test("bad tool input is a 400 naming the field", async () => {
    const { app } = makeApp();
    const cases: [Record<string, unknown>, string][] = [
      [{ tools: [{ type: "function", function: { name: "has space" } }] }, "tools.0.function.name"],
      [{ tools: [WEATHER, WEATHER] }, "tools"],
      [{
        messages: [{
          role: "assistant",
          content: "",
          tool_calls: [{ id: "x", type: "function", function: { name: "f", arguments: "{bad" } }],
        }],
      }, "messages.0.tool_calls.0.function.arguments"],
      [{
        messages: [{
          role: "user",
          content: "",
          tool_calls: [{ id: "x", type: "function", function: { name: "f", arguments: "{}" } }],
        }],
      }, "messages.0.tool_calls"],
      [{ tools: [WEATHER], tool_choice: "sometimes" }, "tool_choice"],
      [{ functions: [WEATHER.function] }, "functions"],
      [{ function_call: "auto" }, "function_call"],
    ];
    for (const [extra, param] of cases) {
      const res = await app.request("/v1/chat/completions", post(chat(extra)));
      expect(res.status).toBe(400);
      const body = await res.json() as { error: { param: string } };
      expect(body.error.param).toBe(param);
    }
    const text = await app.request(
      "/v1/completions",
      post({ model: "fake-model", prompt: "x", tools: [WEATHER] }),
    );
    expect(text.status).toBe(400);
  });
});

describe("Ollama /api/chat with tools", () => {
  test("calls come back as message.tool_calls with object arguments, whole and streamed", async () => {
    const text = `${CALL}\n${CALL2}`;
    for (const stream of [false, true]) {
      const { app, backend } = makeApp({ pieces: pieces(text, 4) });
      const res = await app.request(
        "/api/chat",
        post({
          model: "fake-model",
          stream,
          tools: [WEATHER, NOW],
          messages: [
            { role: "user", content: "Weather?" },
            {
              role: "assistant",
              content: "",
              tool_calls: [{ function: { name: "get_weather", arguments: { city: "Rome" } } }],
            },
            { role: "tool", content: "rain", tool_name: "get_weather" },
          ],
        }),
      );
      expect(res.status).toBe(200);
      const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l)) as {
        message?: { content: string; tool_calls?: { function: Record<string, unknown> }[] };
        done: boolean;
      }[];
      const calls = lines.flatMap((l) => l.message?.tool_calls ?? []);
      expect(calls.map((c) => [c.function["name"], c.function["arguments"]])).toEqual([
        ["get_weather", { city: "Paris" }],
        ["now", {}],
      ]);
      expect(lines.map((l) => l.message?.content ?? "").join("")).toBe("");
      expect(lines.at(-1)!.done).toBe(true);
      const input = backend.requests[0]!.input;
      if (input.kind !== "chat") throw new Error("expected a chat");
      expect(input.tools?.map((t) => t.name)).toEqual(["get_weather", "now"]);
      expect(input.messages[1]!.toolCalls?.[0]).toMatchObject({
        name: "get_weather",
        arguments: '{"city":"Rome"}',
      });
    }
  });
});
