/**
 * Issue 19: the holes of the hostile review as regression tests against a REAL `aria serve`
 * (aria-nano, native backend, peer port on loopback): a hostile peer's parameters (hole 1, 5),
 * hostile web pages and rebinding names (hole 4), the sampling parameters that crashed requests
 * (hole 5) and logprobs token texts (hole 9). Holes 2, 3, 6, 7 have their own files here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Node, ProcessGroup, until } from "../helpers/p2p-procs.ts";
import { rawPeer } from "../helpers/raw-peer.ts";

const procs = new ProcessGroup();
let a: Node;
beforeAll(async () => {
  a = await procs.serve("a", ["--p2p-port", "0", "--threads", "1"]);
}, 60_000);
afterAll(() => procs.close());

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
const text = (prompt: string, extra: Record<string, unknown> = {}) => ({
  model: "aria-nano",
  prompt,
  max_tokens: 24,
  temperature: 0,
  ...extra,
});

/** The fields of an OpenAI answer these tests read (loosely typed: a test reads what it asserts). */
interface Answer {
  error: { param: string };
  choices: {
    text: string;
    message: { content: string };
    logprobs: {
      content: Piece[];
      tokens: string[];
      top_logprobs: Record<string, number>[];
    };
  }[];
}
interface Piece {
  token: string;
  bytes: number[];
  top_logprobs: { token: string; bytes: number[] }[];
}

async function completion(body: unknown): Promise<{ status: number; json: Answer }> {
  const res = await fetch(`${a.api}/v1/completions`, json(body));
  return { status: res.status, json: await res.json() as Answer };
}

describe("a hostile peer cannot fail honest requests (hole 1)", () => {
  test(
    "continueFrom outside the vocabulary fails alone; an honest request in the batch is identical",
    async () => {
      const reference = await completion(text("The history of the city", { max_tokens: 64 }));
      expect(reference.status).toBe(200);
      const peer = await rawPeer(a.ws, a.id, 41);
      const honest = completion(text("The history of the city", { max_tokens: 64 }));
      // the hostile request joins while the honest one decodes
      await Bun.sleep(50);
      const id = peer.send("complete.request", {
        model: "aria-nano",
        input: { kind: "text", prompt: "Hello" },
        maxTokens: 16,
        sampling: { temperature: 0 },
        stop: [],
        continueFrom: [1, 999_999],
      });
      const after = await honest;
      expect(after.status).toBe(200);
      expect(after.json.choices[0]!.text).toBe(reference.json.choices[0]!.text);
      await until(() => Promise.resolve(peer.replies(id).length > 0), "the peer's error");
      const err = peer.replies(id).find((m) => m.kind === "error");
      expect(err?.body["code"]).toBe("INVALID_REQUEST");
      expect(String(err?.body["message"])).toContain("999999");
      peer.close();
    },
    60_000,
  );

  test(
    "a peer prompt longer than the context is CONTEXT_LENGTH; a bad sampling value is refused by the schema",
    async () => {
      const peer = await rawPeer(a.ws, a.id, 42);
      const long = peer.send("complete.request", {
        model: "aria-nano",
        input: { kind: "text", prompt: "many words ".repeat(20_000) },
        sampling: { temperature: 0 },
        stop: [],
      });
      const zero = peer.send("complete.request", {
        model: "aria-nano",
        input: { kind: "text", prompt: "x" },
        sampling: { temperature: 1, repeatPenalty: 0 },
        stop: [],
      });
      await until(
        () =>
          Promise.resolve(
            peer.replies(long).length > 0 &&
              peer.got.some((m) => m.kind === "error" && m.re !== long),
          ),
        "both refusals",
      );
      expect(peer.replies(long).find((m) => m.kind === "error")?.body["code"]).toBe(
        "CONTEXT_LENGTH",
      );
      const codes = peer.got.filter((m) => m.kind === "error").map((m) => m.body["code"]);
      expect(codes).not.toContain("INTERNAL");
      expect(zero).toBeDefined();
      peer.close();
    },
    60_000,
  );
});

describe("parameters the sampler rejects are 400s, never 500s (hole 5)", () => {
  test("repeat_penalty 0 is a 400 naming it; top_p 0 and a huge top_k are served", async () => {
    const bad = await completion(text("Hi", { repeat_penalty: 0 }));
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe("repeat_penalty");
    const topP = await completion(text("Hi", { top_p: 0, temperature: 1, max_tokens: 4 }));
    expect(topP.status).toBe(200);
    const topK = await completion(text("Hi", { top_k: 2147483648, temperature: 1, max_tokens: 4 }));
    expect(topK.status).toBe(200);
  }, 60_000);
});

describe("web pages and rebinding names (hole 4)", () => {
  test("a cross-origin text/plain POST is refused without CORS headers and runs nothing", async () => {
    const res = await fetch(`${a.api}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "text/plain", origin: "https://evil.example" },
      body: JSON.stringify(text("Hi")),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("a rebinding Host is refused on the API and the dashboard; the dashboard needs its token", async () => {
    const port = new URL(a.api).port;
    for (const path of ["/v1/models", "/consent"]) {
      const res = await fetch(`${a.api}${path}`, { headers: { host: `evil.example:${port}` } });
      expect(res.status).toBe(421);
    }
    const noToken = await fetch(`${a.api}/ledger/verify`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "",
    });
    expect(noToken.status).toBe(403);
    const page = await (await fetch(`${a.api}/ledger`)).text();
    const token = /<meta name="aria-csrf" content="([0-9a-f]{64})">/.exec(page)?.[1];
    expect(token).toBeDefined();
    const withToken = await fetch(`${a.api}/ledger/verify`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-aria-csrf": token! },
      body: "",
    });
    expect(withToken.status).toBe(200);
  });
});

describe("logprobs carry the token's text and bytes (hole 9)", () => {
  test("chat: token, bytes, logprob and distinct top_logprobs", async () => {
    const res = await fetch(
      `${a.api}/v1/chat/completions`,
      json({
        model: "aria-nano",
        messages: [{ role: "user", content: "Tell me a story" }],
        max_tokens: 8,
        temperature: 0,
        logprobs: true,
        top_logprobs: 3,
      }),
    );
    expect(res.status).toBe(200);
    const body = await res.json() as Answer;
    const content = body.choices[0]!.logprobs.content;
    expect(content.length).toBe(8);
    const joined = content.map((c) => c.token).join("");
    expect(joined).toBe(body.choices[0]!.message.content);
    for (const c of content) {
      // bytes are the token's UTF-8 (a token may hold part of a character: then only bytes)
      const decoded = new TextDecoder().decode(new Uint8Array(c.bytes));
      if (!decoded.includes("\uFFFD")) expect(decoded).toBe(c.token);
      expect(c.top_logprobs).toHaveLength(3);
      expect(new Set(c.top_logprobs.map((t) => t.token)).size).toBe(3);
      expect(c.top_logprobs.every((t) => Array.isArray(t.bytes) && t.bytes.length > 0)).toBe(
        true,
      );
    }
    expect(content.some((c) => c.token !== "")).toBe(true);
  }, 60_000);

  test("completions: tokens and top_logprobs with distinct keys", async () => {
    const r = await completion(text("Once upon a time", { max_tokens: 8, logprobs: 3 }));
    expect(r.status).toBe(200);
    const lp = r.json.choices[0]!.logprobs;
    expect(lp.tokens.join("")).toBe(r.json.choices[0]!.text);
    for (const top of lp.top_logprobs) expect(Object.keys(top).length).toBe(3);
  }, 60_000);
});
