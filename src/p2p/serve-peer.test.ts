import { describe, expect, test } from "bun:test";
import type { CompletionRequest } from "../contract/index.ts";
import { CountingBackend } from "../../tests/helpers/counting-backend.ts";
import {
  advertFromBackend,
  meteredBackend,
  requestFromWire,
  requestToWire,
  serveFromBackend,
} from "./serve-peer.ts";
import { BODY_SCHEMAS, type CoreKind, type Envelope } from "./protocol.ts";
import { GRAMMAR_LIMITS } from "../grammar/index.ts";

const req: CompletionRequest = {
  id: "r",
  model: "m",
  input: { kind: "chat", messages: [{ role: "user", content: "hi" }] },
  maxTokens: 10,
  sampling: { temperature: 0, logitBias: new Map([[5, -100]]) },
  seed: 3,
  stop: ["\n"],
};

function envelope(body: ReturnType<typeof requestToWire>): Envelope & { kind: "complete.request" } {
  return {
    v: "1.0",
    kind: "complete.request",
    id: "q1",
    from: "f",
    to: "t",
    ts: 0,
    nonce: "n",
    body,
  };
}

async function serve(
  backend: CountingBackend,
  body: ReturnType<typeof requestToWire>,
  clock?: { nowMs(): number },
) {
  const sent: { kind: CoreKind; body: unknown }[] = [];
  await serveFromBackend(backend, clock ? { clock } : {})(
    "peer",
    envelope(body),
    (m) => (sent.push(m), true),
    new AbortController().signal,
  );
  return sent;
}

describe("wire conversion", () => {
  test("round trip keeps the request, logit bias as pairs", () => {
    const wire = requestToWire(req, []);
    expect(wire.sampling.logitBias).toEqual([[5, -100]]);
    const back = requestFromWire("x", wire);
    expect(back.sampling.logitBias).toEqual(new Map([[5, -100]]));
    expect({ ...back, id: "r", sampling: req.sampling }).toEqual(req);
  });

  test("a grammar travels with the request, within the protocol's size limit", () => {
    const grammar = 'root ::= "yes" | "no"';
    const wire = requestToWire({ ...req, grammar }, []);
    expect(wire.grammar).toBe(grammar);
    expect(requestFromWire("x", wire).grammar).toBe(grammar);
    const schema = BODY_SCHEMAS["complete.request"];
    expect(schema.safeParse(wire).success).toBe(true);
    const huge = { ...wire, grammar: "x".repeat(GRAMMAR_LIMITS.maxChars + 1) };
    expect(schema.safeParse(huge).success).toBe(false);
    expect(schema.safeParse({ ...wire, grammar: "" }).success).toBe(false);
  });

  test("tools, calls and call ids travel with a chat request", () => {
    const chat: CompletionRequest = {
      ...req,
      input: {
        kind: "chat",
        messages: [
          { role: "user", content: "Hi" },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "call_1", name: "f", arguments: '{"a":1}' }],
          },
          { role: "tool", content: "2", toolCallId: "call_1" },
        ],
        tools: [{ name: "f", description: "F", parameters: { type: "object" } }],
      },
    };
    const wire = requestToWire({ ...chat, grammar: 'root ::= "x"', grammarTrigger: "<t>" }, []);
    expect(wire.grammarTrigger).toBe("<t>");
    expect(requestFromWire("x", wire).grammarTrigger).toBe("<t>");
    delete wire.grammar;
    delete wire.grammarTrigger;
    const schema = BODY_SCHEMAS["complete.request"];
    const parsed = schema.parse(JSON.parse(JSON.stringify(wire)));
    expect(requestFromWire("x", parsed).input).toEqual(chat.input);
    // a function name outside the API's rule is refused on the wire too
    const bad = JSON.parse(JSON.stringify(wire));
    bad.input.tools[0].name = "a b";
    expect(schema.safeParse(bad).success).toBe(false);
  });

  test("a continuation counts the tokens already made out of maxTokens", () => {
    const wire = requestToWire(req, [7, 8, 9]);
    expect(wire.continueFrom).toEqual([7, 8, 9]);
    expect(wire.maxTokens).toBe(7);
    expect(requestFromWire("x", wire).continueFrom).toEqual([7, 8, 9]);
  });
});

describe("serveFromBackend", () => {
  test("streams chunks and ends", async () => {
    const sent = await serve(
      new CountingBackend(["m"], "a"),
      requestToWire({ ...req, maxTokens: 3 }, []),
    );
    expect(sent.map((m) => m.kind)).toEqual([
      "complete.chunk",
      "complete.chunk",
      "complete.chunk",
      "complete.end",
    ]);
    expect((sent[0]!.body as { servedBy: string[] }).servedBy).toEqual(["a"]);
  });

  test("with a clock, chunks inside the flush window are coalesced, nothing lost", async () => {
    const plain = await serve(
      new CountingBackend(["m"], "a"),
      requestToWire({ ...req, maxTokens: 5 }, []),
    );
    const frozen = await serve(
      new CountingBackend(["m"], "a"),
      requestToWire({ ...req, maxTokens: 5 }, []),
      { nowMs: () => 0 },
    );
    expect(frozen.map((m) => m.kind)).toEqual(["complete.chunk", "complete.chunk", "complete.end"]);
    const tokens = (s: typeof plain) =>
      s.flatMap((m) => (m.body as { tokens?: number[] }).tokens ?? []);
    const text = (s: typeof plain) =>
      s.map((m) => (m.body as { text?: string }).text ?? "").join("");
    expect(tokens(frozen)).toEqual(tokens(plain));
    expect(text(frozen)).toEqual(text(plain));
  });

  test("an external backend refuses continuations (it cannot take token ids)", async () => {
    const external = new CountingBackend(["m"], "a");
    external.kind = "external";
    const sent: { kind: CoreKind; body: unknown }[] = [];
    await serveFromBackend(external)(
      "p",
      envelope(requestToWire(req, [1, 2])),
      (m) => (sent.push(m), true),
      new AbortController().signal,
    );
    expect((sent[0]!.body as { code: string }).code).toBe("NO_MODEL");
    expect(external.requests).toEqual([]);
  });

  test("unknown model: NO_MODEL; consent refused: CONSENT_DENIED", async () => {
    const sent = await serve(new CountingBackend(["other"], "a"), requestToWire(req, []));
    expect(sent).toEqual([{
      kind: "error",
      body: { code: "NO_MODEL", message: 'This node does not serve model "m"' },
    }]);
    const denied: { kind: CoreKind; body: unknown }[] = [];
    await serveFromBackend(new CountingBackend(["m"], "a"), {
      consent: () => ({ allow: false, reason: "No peers at night" }),
    })(
      "p",
      envelope(requestToWire(req, [])),
      (m) => (denied.push(m), true),
      new AbortController().signal,
    );
    expect(denied[0]!.body).toEqual({ code: "CONSENT_DENIED", message: "No peers at night" });
  });
});

describe("admission and provenance of a peer's request", () => {
  test("the admission is held until the end, counts every token, and is released once", async () => {
    const events: string[] = [];
    let tokens = 0;
    const sent: { kind: CoreKind; body: unknown }[] = [];
    await serveFromBackend(new CountingBackend(["m"], "a"), {
      consent: (_peer, _body, requestId) => {
        events.push(`admit ${requestId}`);
        return {
          allow: true,
          ticket: {
            addTokens: (n) => (tokens += n),
            release: () => events.push(`release at ${sent.length} sent`),
          },
        };
      },
      provenance: (request, result) => {
        events.push(`record ${request.id} ${result.usage.completionTokens}`);
        return { receipt: request.id };
      },
    })(
      "p",
      envelope(requestToWire(req, [])),
      (m) => (sent.push(m), true),
      new AbortController().signal,
    );
    // released before the record is made (the energy is known to the ledger by then), once
    expect(events).toEqual(["admit peer-q1", "release at 10 sent", "record peer-q1 10"]);
    const end = sent.at(-1)!;
    expect(end.kind).toBe("complete.end");
    expect((end.body as { receipt: unknown }).receipt).toEqual({ receipt: "peer-q1" });
    const usage = (end.body as { usage: { promptTokens: number; completionTokens: number } }).usage;
    expect(tokens).toBe(usage.promptTokens + usage.completionTokens);
  });

  test("a requester gone mid-stream still releases the admission", async () => {
    let released = 0;
    let n = 0;
    await serveFromBackend(new CountingBackend(["m"], "a"), {
      consent: () => ({ allow: true, ticket: { addTokens: () => {}, release: () => released++ } }),
    })("p", envelope(requestToWire(req, [])), () => ++n < 2, new AbortController().signal);
    expect(released).toBe(1);
  });

  test("at capacity the answer is BUSY; a record that fails leaves the end without a receipt", async () => {
    const busy: { kind: CoreKind; body: unknown }[] = [];
    await serveFromBackend(new CountingBackend(["m"], "a"), {
      consent: () => ({ allow: false, code: "BUSY", reason: "At capacity: 2 requests" }),
    })(
      "p",
      envelope(requestToWire(req, [])),
      (m) => (busy.push(m), true),
      new AbortController().signal,
    );
    expect(busy).toEqual([{
      kind: "error",
      body: { code: "BUSY", message: "At capacity: 2 requests" },
    }]);
    const logged: Record<string, unknown>[] = [];
    const sent: { kind: CoreKind; body: unknown }[] = [];
    await serveFromBackend(new CountingBackend(["m"], "a"), {
      provenance: () => {
        throw new Error("disk full");
      },
      log: (e) => logged.push(e),
    })(
      "p",
      envelope(requestToWire(req, [])),
      (m) => (sent.push(m), true),
      new AbortController().signal,
    );
    expect(sent.at(-1)!.kind).toBe("complete.end");
    expect("receipt" in (sent.at(-1)!.body as object)).toBe(false);
    expect(logged).toEqual([{
      level: "error",
      msg: "peer request not recorded",
      id: "peer-q1",
      error: "Error: disk full",
    }]);
  });
});

describe("advert and meter", () => {
  test("advert lists models with hashes and free slots", () => {
    const b = new CountingBackend(["m"], "a", 4);
    b.active = 1;
    const ad = advertFromBackend(b, {
      sha256: new Map([["m", "ab".repeat(32)]]),
      tokensPerSecond: 12.34,
    });
    expect(ad).toEqual({
      models: [{ id: "m", sha256: "ab".repeat(32), layers: null, nLayers: 0 }],
      slots: 4,
      freeSlots: 3,
      tokensPerSecond: 12.3,
      consent: {},
      listen: null,
    });
  });

  test("advert lists the grammar and tools features only for backends that sample locally", () => {
    const b = new CountingBackend(["m"], "a", 4);
    expect(advertFromBackend(b).features).toBeUndefined();
    const native = Object.assign(Object.create(b) as CountingBackend, { kind: "native" });
    expect(advertFromBackend(native).features).toEqual(["grammar", "tools"]);
  });

  test("the meter averages decode speed from results", async () => {
    const base = new CountingBackend(["m"], "a");
    let tokens = 10;
    const timed = Object.assign(Object.create(null), {
      ...base,
      listModels: () => base.listModels(),
      async *complete() {
        yield { text: "x", tokens: [1] };
        return {
          tail: "",
          finishReason: "stop",
          stopReason: "eog",
          usage: { promptTokens: 1, completionTokens: tokens },
          timings: { queueMs: 0, promptMs: 0, decodeMs: 1000 },
          servedBy: ["a"],
        };
      },
    });
    const m = meteredBackend(timed);
    const run = async () => {
      const gen = m.backend.complete(req, new AbortController().signal);
      for (let s = await gen.next(); !s.done; s = await gen.next());
    };
    expect(m.tokensPerSecond()).toBe(0);
    await run();
    expect(m.tokensPerSecond()).toBe(10);
    tokens = 20;
    await run();
    expect(m.tokensPerSecond()).toBeCloseTo(13, 9); // 10 + 0.3 x (20 - 10)
    expect(m.backend.listModels()).toEqual(base.listModels());
  });
});
