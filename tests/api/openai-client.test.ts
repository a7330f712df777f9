/** The official openai client, unchanged, against the app through a custom fetch (no socket). */
import { describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { makeApp } from "../helpers/api.ts";

function client(apiKey = "s3cret") {
  const { app, backend } = makeApp({}, { apiKey: "s3cret" });
  const fetch = (input: string | URL | Request, init?: RequestInit) =>
    Promise.resolve(app.request(input instanceof Request ? input : String(input), init));
  return {
    openai: new OpenAI({ apiKey, baseURL: "http://aria.test/v1", fetch, maxRetries: 0 }),
    backend,
  };
}

describe("openai client", () => {
  test("plain chat", async () => {
    const { openai } = client();
    const r = await openai.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "Hi" }],
      temperature: 0,
    });
    expect(r.choices[0]!.message.content).toBe("Hello, world! é🙂");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage?.total_tokens).toBe(12);
  });
  test("streamed chat equals the plain one", async () => {
    const { openai } = client();
    const stream = await openai.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: unknown = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe("Hello, world! é🙂");
    expect(finish).toBe("stop");
    expect(usage).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
  });
  test("completion", async () => {
    const { openai } = client();
    const r = await openai.completions.create({
      model: "fake-model",
      prompt: "Say",
      max_tokens: 2,
    });
    expect(r.choices[0]!.text).toBe("Hello,");
    expect(r.choices[0]!.finish_reason).toBe("length");
  });
  test("models.list", async () => {
    const { openai } = client();
    const ids: string[] = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    expect(ids).toEqual(["fake-model"]);
  });
  test("errors surface as the client's typed errors", async () => {
    const bad = client("wrong").openai;
    const authErr = await bad.models.list().then(() => null, (e: unknown) => e);
    expect(authErr).toBeInstanceOf(OpenAI.AuthenticationError);
    const { openai } = client();
    const err = await openai.chat.completions.create({
      model: "nope",
      messages: [{ role: "user", content: "Hi" }],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });
});
