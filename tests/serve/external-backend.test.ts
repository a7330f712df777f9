/** The external backend against a fake OpenAI-compatible upstream (Bun.serve on port 0). */
import { afterAll, expect, test } from "bun:test";
import { ExternalBackend } from "../../src/serve/external-backend.ts";

const sse = (events: unknown[]) =>
  new Response(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("") + "data: [DONE]\n\n", {
    headers: { "content-type": "text/event-stream" },
  });

const upstream = Bun.serve({
  port: 0,
  fetch: async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/v1/models") {
      return Response.json({ object: "list", data: [{ id: "up", created: 5, owned_by: "u" }] });
    }
    const body = await req.json() as { stream: boolean; max_tokens: number };
    expect(body.stream).toBe(true);
    return sse([
      { choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
      { choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }] },
      { choices: [{ index: 0, delta: { content: "lo" }, finish_reason: "length" }] },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } },
    ]);
  },
});
afterAll(() => upstream.stop(true));

test("forwards, streams through and maps the SSE back into chunks", async () => {
  const backend = new ExternalBackend({
    upstream: `http://127.0.0.1:${upstream.port}/v1`,
    nodeId: "n",
  });
  expect(backend.health()).toBe("loading");
  await backend.ready;
  expect(backend.listModels()).toEqual([{ id: "up", created: 5, ownedBy: "u", contextLength: 0 }]);
  const gen = backend.complete({
    id: "x",
    model: "up",
    input: { kind: "chat", messages: [{ role: "user", content: "Hi" }] },
    maxTokens: 2,
    sampling: { temperature: 0 },
    stop: [],
  }, new AbortController().signal);
  const texts: string[] = [];
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) texts.push(step.value.text);
  expect(texts).toEqual(["Hel", "lo"]);
  expect(step.value.finishReason).toBe("length");
  expect(step.value.usage).toEqual({ promptTokens: 3, completionTokens: 2 });
  expect(step.value.servedBy).toEqual(["n"]);
});
