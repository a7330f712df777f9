/**
 * @module The ARIA peer wire protocol: the one contract between nodes (STYLE.md B0.3). Pure: no
 * I/O, no clock, no randomness (time and nonces come in as arguments); signing and verifying are
 * passed in as functions. The full prose spec with examples is docs/protocol.md.
 *
 * Layout of one text frame (UTF-8 JSON, at most MAX_FRAME_BYTES):
 *   1. frame     = { "sig": <128 hex chars or "">, "msg": <string> }
 *   2. msg       = JSON text of the envelope; the signature covers SIGN_DOMAIN + msg, byte for byte,
 *                  so no canonical re-encoding is needed (the receiver verifies the bytes it got).
 *   3. envelope  = { v, kind, id, re?, from, to, ts, nonce, body }
 *        v      "major.minor" protocol version; another major is refused with VERSION.
 *        kind   the message type, the discriminant of `body` (KINDS below).
 *        id     correlation id chosen by the sender (1-64 chars of [A-Za-z0-9._:-]).
 *        re     on a reply: the `id` of the request it answers. Replies may come in any order.
 *        from   sender node id (ed25519 public key, 64 hex); must be the connection's peer.
 *        to     recipient node id ("" only in `hello`); a message for another node is refused.
 *        ts     sender's clock, Unix ms; outside +-MAX_SKEW_MS of the receiver's clock = STALE.
 *        nonce  32 hex chars, fresh per message; (from, nonce) seen before = REPLAY.
 *   4. hello and auth (the handshake, handshake.ts) are the only kinds sent unsigned (sig "");
 *      auth carries its own proof over the peer's challenge. Every other kind must be signed.
 *   5. Binary frames belong to the pipeline namespace (`pipe.*`, another module); the node hands
 *      them to the registered extension only after the handshake, at most
 *      MAX_BINARY_FRAME_BYTES each, rate limited in a bucket of their own. Their layout (a stage
 *      message: correlation id + tensor frame) is specified in stage-wire.ts.
 *   6. Kinds starting with "ledger." belong to the ledger (src/ledger/wire.ts defines their
 *      bodies; docs/ledger.md §8): signed and checked like every kind, then handed with an
 *      unvalidated body to the ledger handler, which validates it with wire.ts's schemas.
 *
 * Version history:
 *   1.0  first version: hello/auth, ping/pong, advert, peers.request/response, complete.request/
 *        chunk/end, cancel, error. Kinds starting with "pipe." reserved for pipeline parallelism.
 *   1.1  pipeline stages over the peer network: binary frames carry stage messages (stage-wire.ts:
 *        request/reply with a u32 correlation id, then a tensor frame); stage adverts fill
 *        `layers` [first, last] and `nLayers`; binary frames get their own rate bucket. A 1.0
 *        node answers binary frames UNKNOWN_TYPE, so the two interoperate.
 *   1.2  the "ledger." namespace: ledger.headers, ledger.headers.request, ledger.blocks.request,
 *        ledger.blocks, ledger.attestations (block-header exchange between peers). A 1.0 node
 *        answers them UNKNOWN_TYPE and nothing else changes, hence a minor bump.
 *   1.3  `complete.end` may carry `receipt`: the provenance receipt the serving node signed for
 *        its own ledger record of the request (src/ledger/wire.ts receiptSchema; the requester
 *        checks it before passing it to its client). Optional, so 1.0-1.2 nodes interoperate.
 *   1.4  `complete.request` may carry `grammar`: GBNF text (at most GRAMMAR_LIMITS.maxChars
 *        characters; the serving node compiles it under the same limits as the API and fails the
 *        request alone if it is bad) that the output must match (response_format / grammar of
 *        the API). Adverts may list `features`; "grammar" = this node enforces `grammar`. An
 *        older node would drop the field it does not know, so requesters send a grammar only to
 *        nodes that advertise the feature.
 *   2.0  the handshake proof signs the transcript of the connection (handshake.ts: roles, channel
 *        binding, both ids and both challenges; AUTH_DOMAIN "aria-p2p-auth/2"), so a relayed
 *        handshake fails; a 1.x proof does not verify, hence a major bump (1.x peers are refused
 *        with VERSION); 1.4's `grammar` and `features` are kept. Error codes INVALID_REQUEST (a
 *        parameter outside the serving node's limits: a token id outside the vocabulary, a
 *        sampling value out of range) and CONTEXT_LENGTH (the prompt does not fit the context);
 *        topP and repeatPenalty must be > 0.
 *   2.1  the overlay namespaces "dht." (provider lookup, src/p2p/dht/wire.ts), "reach." and
 *        "relay." (reachability and relays, src/p2p/relay/wire.ts): signed and checked like every
 *        kind, bodies validated by their modules. Older nodes answer UNKNOWN_TYPE.
 *   2.2  the "audit." namespace:
 *        `audit.fraud-proof` gossips a fraud proof (src/p2p/fraud-proof.ts; docs/protocol.md
 *        "Audits and fraud proofs"). Signed and checked like every kind, the body validated by
 *        the auditor. Older nodes answer UNKNOWN_TYPE, and nothing else changes.
 *        Also 2.2, tool calling: a chat input may carry
 *        `tools` ([{name, description?, parameters?}]) and its messages `toolCalls`
 *        ([{id, name, arguments (JSON text)}]) and `toolCallId`; adverts list the feature
 *        "tools" when the node renders them; `grammarTrigger` (with `grammar`) = the grammar
 *        applies from that text on (tool_choice "auto"). An older node would drop the fields, so requesters
 *        send such requests only to nodes advertising "tools". The calls in the output are parsed
 *        by the requesting node's API; "required" / named choices travel as `grammar`.
 *        Also 2.2, the overlay as `aria serve` runs it: provider records sign `model` (2.1 records
 *        are refused), `dht.list_models` / `dht.models`, dial-back reachability from a throwaway
 *        identity, relay limits from the consent policy (docs/protocol.md "Serving from behind
 *        NAT"); ledger records of version 2 in receipts ("Re-executable receipts").
 *   2.3  stage adverts may carry `numerics` ({contract, head, kvType}), so a pipeline coordinator
 *        signs version 2 records; a receipt of a fail-over continuation carries `continuedIds`
 *        (docs/protocol.md "Re-executable receipts"). Both optional: older nodes drop them.
 */
import { z } from "zod";
import { GRAMMAR_LIMITS } from "../grammar/index.ts";
import type { Result } from "../shared/result.ts";

/** Protocol version spoken by this build. */
export const PROTOCOL_VERSION = { major: 2, minor: 3 } as const;
/** The version as it appears in `v` and `hello.version`. */
export const PROTOCOL_VERSION_STRING = `${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}`;
/** Largest text frame accepted (bytes). Why 1 MiB: a 4 MiB API body limit is for text that
 * is tokenized here; requests between peers carry prompts of a few thousand tokens at most. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Largest binary frame accepted (bytes), and the WebSocket layer's hard limit for any frame.
 * Why 4 MiB: a 64-token chunk of hidden states of an 8192-wide model is 2 MiB. */
export const MAX_BINARY_FRAME_BYTES = 4 * MAX_FRAME_BYTES;
/** Clock difference tolerated between peers. Why 30 s: NTP-synced machines differ by far less,
 * and the nonce cache only has to remember nonces for twice this window. */
export const MAX_SKEW_MS = 30_000;
/** Prefix of the signed bytes (domain separation from ledger and handshake signatures). */
export const SIGN_DOMAIN = "aria-p2p/1\n";
/** Prefix of extension kinds owned by the pipeline module. */
export const PIPELINE_KIND_PREFIX = "pipe.";
/** Prefix of kinds owned by the ledger (bodies: src/ledger/wire.ts). */
export const LEDGER_KIND_PREFIX = "ledger.";
/** Prefixes of the overlay kinds (1.4): provider lookup, reachability, relays. */
export const OVERLAY_KIND_PREFIXES = ["dht.", "reach.", "relay."] as const;
/** An overlay kind. */
export type OverlayKind = `dht.${string}` | `reach.${string}` | `relay.${string}`;

/** Prefix of the audit kinds (issue 20): `audit.fraud-proof`, body src/p2p/fraud-proof.ts. */
export const AUDIT_KIND_PREFIX = "audit.";
/** An audit kind. */
export type AuditKind = `audit.${string}`;

/** True if `kind` belongs to an overlay namespace. */
export function isOverlayKind(kind: string): kind is OverlayKind {
  return OVERLAY_KIND_PREFIXES.some((p) => kind.startsWith(p));
}

/** Error codes of `error` replies (docs/protocol.md lists when each is sent). */
export const ERROR_CODES = [
  "INVALID_JSON",
  "UNKNOWN_TYPE",
  "MISSING_FIELDS",
  "RATE_LIMITED",
  "BAD_SIGNATURE",
  "STALE",
  "REPLAY",
  "VERSION",
  "FRAME_TOO_LARGE",
  "CONSENT_DENIED",
  "BUSY",
  "NO_MODEL",
  "UNAUTHENTICATED",
  "INVALID_REQUEST",
  "CONTEXT_LENGTH",
  "INTERNAL",
] as const;
/** One error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
const nodeId = hex(64);
const msgId = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);
const shortText = z.string().max(200);
const url = z.string().max(300).regex(/^wss?:\/\/[^\s]+$/);

const modelAdvert = z.object({
  id: shortText.min(1),
  /** SHA-256 of the model file (hex), so peers can tell two files with one name apart. */
  sha256: hex(64).or(z.literal("")),
  /** Layers this node serves, [first, last] inclusive; null = the whole model. */
  layers: z.tuple([z.number().int().min(0), z.number().int().min(0)]).nullable(),
  nLayers: z.number().int().min(0),
  /**
   * Pipeline stages (issue 20): the numerics their blocks run with — the engine's numerics
   * contract, the output head (what the last stage's logits come from) and the KV cache type — so
   * that a coordinator can name them in a re-executable record. Absent: unknown (older nodes; the
   * coordinator then records version 1). Unknown keys are dropped by older nodes' parsers.
   */
  numerics: z.object({
    contract: z.number().int().min(0).max(1_000_000),
    head: z.enum(["float", "int8", "int4"]),
    kvType: z.enum(["f32", "f16"]),
  }).optional(),
});

/** What a node offers (advert body). */
export const advertSchema = z.object({
  models: z.array(modelAdvert).max(32),
  slots: z.number().int().min(0),
  freeSlots: z.number().int().min(0),
  /** Measured decode speed (tokens/s over recent requests; 0 = not measured yet). */
  tokensPerSecond: z.number().min(0),
  /** Consent summary: an opaque JSON object for now (the consent module defines it). */
  consent: z.record(z.string(), z.unknown()),
  /** Where this node accepts connections (null = it does not listen). */
  listen: url.nullable(),
  /**
   * 1.4: optional capabilities: "grammar" (enforces complete.request `grammar`); "tools" (renders
   * `tools`, `toolCalls` and `toolCallId` of a chat input with its chat template).
   */
  features: z.array(shortText).max(32).optional(),
});
/** A node's advert. */
export type Advert = z.infer<typeof advertSchema>;

/** One peer hint in peer exchange: unverified until dialled and authenticated. */
export const peerHintSchema = z.object({
  id: nodeId,
  url,
  models: z.array(shortText).max(32),
});
/** A peer hint. */
export type PeerHint = z.infer<typeof peerHintSchema>;

const samplingSchema = z.object({
  temperature: z.number().min(0).max(100),
  topK: z.number().int().min(0).optional(),
  topP: z.number().gt(0).max(1).optional(),
  minP: z.number().min(0).max(1).optional(),
  // ranges are the sampler's (generation/sampler.ts); the node checks them again, with the
  // vocabulary, before the scheduler (generation/limits.ts)
  repeatPenalty: z.number().gt(0).optional(),
  repeatLastN: z.number().int().min(-1).optional(),
  frequencyPenalty: z.number().optional(),
  presencePenalty: z.number().optional(),
  /** [token id, bias] pairs (a Map in memory). */
  logitBias: z.array(z.tuple([z.number().int().min(0), z.number()])).max(1024).optional(),
});

/** Function names as the API accepts them (1-64 of [A-Za-z0-9_-]). */
const toolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const toolCallSchema = z.object({
  id: shortText.min(1),
  name: toolName,
  arguments: z.string(),
});
const toolDefinitionSchema = z.object({
  name: toolName,
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

const completeRequestSchema = z.object({
  model: shortText.min(1),
  input: z.discriminatedUnion("kind", [
    z.object({
      kind: z.literal("chat"),
      messages: z.array(z.object({
        role: z.enum(["system", "user", "assistant", "tool"]),
        content: z.string(),
        /** tools feature: an assistant turn's calls (arguments as JSON text). */
        toolCalls: z.array(toolCallSchema).max(128).optional(),
        /** tools feature: the call a tool turn answers. */
        toolCallId: shortText.optional(),
      })).min(1).max(1024),
      /** tools feature: the functions the chat template shows the model. */
      tools: z.array(toolDefinitionSchema).max(128).optional(),
    }),
    z.object({ kind: z.literal("text"), prompt: z.string() }),
  ]),
  maxTokens: z.number().int().min(0).optional(),
  sampling: samplingSchema,
  seed: z.number().int().min(0).optional(),
  stop: z.array(z.string().max(200)).max(16),
  /** Fail-over: tokens already generated elsewhere; continue after them. */
  continueFrom: z.array(z.number().int().min(0)).max(131072).optional(),
  /** 1.4: GBNF the output must match (the serving node compiles it under GRAMMAR_LIMITS). */
  grammar: z.string().min(1).max(GRAMMAR_LIMITS.maxChars).optional(),
  /** tools feature: `grammar` applies only from this text on (a lazy grammar, "auto" tools). */
  grammarTrigger: z.string().min(1).max(64).optional(),
});

/** Body schema of every core kind. */
export const BODY_SCHEMAS = {
  hello: z.object({
    version: z.string().regex(/^\d{1,4}\.\d{1,4}$/),
    nodeId,
    challenge: hex(64),
    listen: url.nullable(),
    agent: shortText,
  }),
  auth: z.object({ proof: hex(128) }),
  ping: z.object({}),
  pong: z.object({}),
  advert: advertSchema,
  "peers.request": z.object({}),
  "peers.response": z.object({ peers: z.array(peerHintSchema).max(64) }),
  "complete.request": completeRequestSchema,
  "complete.chunk": z.object({
    text: z.string(),
    tokens: z.array(z.number().int().min(0)).max(4096),
    servedBy: z.array(nodeId.or(shortText)).max(16).optional(),
  }),
  "complete.end": z.object({
    tail: z.string(),
    finishReason: z.enum(["stop", "length"]),
    stopReason: z.enum(["eog", "stop_string", "max_tokens", "context_full"]),
    usage: z.object({
      promptTokens: z.number().int().min(0),
      completionTokens: z.number().int().min(0),
    }),
    servedBy: z.array(shortText).max(16),
    /** 1.3: the serving node's provenance receipt, validated by the ledger's schema where used. */
    receipt: z.unknown().optional(),
  }),
  cancel: z.object({}),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string().max(500) }),
} as const;

/** A core message kind. */
export type CoreKind = keyof typeof BODY_SCHEMAS;
/** The body of a core kind. */
export type Body<K extends CoreKind> = z.infer<(typeof BODY_SCHEMAS)[K]>;
/** A complete.request body. */
export type CompleteRequestBody = Body<"complete.request">;
/** Kinds sent before the handshake completes, unsigned. */
export const HANDSHAKE_KINDS: readonly string[] = ["hello", "auth"];

const envelopeSchema = z.object({
  v: z.string().regex(/^\d{1,4}\.\d{1,4}$/),
  kind: z.string().min(1).max(64),
  id: msgId,
  re: msgId.optional(),
  from: nodeId,
  to: nodeId.or(z.literal("")),
  ts: z.number().int().min(0),
  nonce: hex(32),
  body: z.unknown(),
});

/** A decoded envelope of a core kind (body validated) or of a pipeline kind (body unknown). */
export type Envelope =
  & Omit<z.infer<typeof envelopeSchema>, "body" | "kind">
  & (
    | { [K in CoreKind]: { kind: K; body: Body<K> } }[CoreKind]
    | { kind: `pipe.${string}`; body: unknown }
    | { kind: `ledger.${string}`; body: unknown }
    | { kind: OverlayKind; body: unknown }
    | { kind: AuditKind; body: unknown }
  );

/** A refused frame: the code and reason to reply with, and the id it answers if known. */
export interface ProtocolFault {
  code: ErrorCode;
  message: string;
  re?: string;
}

/** A parsed frame: the envelope, the signature and the exact bytes it covers. */
export interface ParsedFrame {
  envelope: Envelope;
  sig: string;
  signed: Uint8Array;
}

const encoder = new TextEncoder();
const frameSchema = z.object({ sig: z.string().max(128), msg: z.string() });

function fault(code: ErrorCode, message: string, re?: string): { ok: false; error: ProtocolFault } {
  return { ok: false, error: re !== undefined ? { code, message, re } : { code, message } };
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid";
}

/**
 * Decodes one text frame. Every inbound text frame goes through here (STYLE.md B7.4); the
 * signature, freshness and replay checks follow in `checkEnvelope`.
 *
 * @param text the frame as received.
 * @returns the frame, or the fault to answer (the connection stays open).
 */
export function parseFrame(text: string): Result<ParsedFrame, ProtocolFault> {
  // handled here: oversized frames (below the transport's hard limit) become FRAME_TOO_LARGE
  const size = encoder.encode(text).length;
  if (size > MAX_FRAME_BYTES) {
    return fault("FRAME_TOO_LARGE", `Frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  let outer: unknown;
  let inner: unknown;
  try {
    outer = JSON.parse(text);
  } catch {
    return fault("INVALID_JSON", "Frame is not JSON"); // handled here: bad frame, reply + stay
  }
  const frame = frameSchema.safeParse(outer);
  if (!frame.success) return fault("MISSING_FIELDS", `Frame ${issueText(frame.error)}`);
  try {
    inner = JSON.parse(frame.data.msg);
  } catch {
    return fault("INVALID_JSON", "Frame msg is not JSON");
  }
  const re = typeof (inner as { id?: unknown })?.id === "string"
    ? (inner as { id: string }).id.slice(0, 64)
    : undefined;
  const env = envelopeSchema.safeParse(inner);
  if (!env.success) return fault("MISSING_FIELDS", `Envelope ${issueText(env.error)}`, re);
  const major = Number(env.data.v.split(".")[0]);
  if (major !== PROTOCOL_VERSION.major) {
    return fault("VERSION", `Protocol ${env.data.v} is not ${PROTOCOL_VERSION_STRING}`, re);
  }
  const kind = env.data.kind;
  const signed = encoder.encode(SIGN_DOMAIN + frame.data.msg);
  if (
    kind.startsWith(PIPELINE_KIND_PREFIX) || kind.startsWith(LEDGER_KIND_PREFIX) ||
    isOverlayKind(kind) || kind.startsWith(AUDIT_KIND_PREFIX)
  ) {
    const envelope = { ...env.data, kind } as Envelope;
    return { ok: true, value: { envelope, sig: frame.data.sig, signed } };
  }
  if (!Object.hasOwn(BODY_SCHEMAS, kind)) {
    return fault("UNKNOWN_TYPE", `Unknown message kind "${kind.slice(0, 64)}"`, re);
  }
  const body = BODY_SCHEMAS[kind as CoreKind].safeParse(env.data.body);
  if (!body.success) return fault("MISSING_FIELDS", `${kind} body ${issueText(body.error)}`, re);
  const envelope = { ...env.data, kind, body: body.data } as Envelope;
  return { ok: true, value: { envelope, sig: frame.data.sig, signed } };
}

/** What to build: everything but the version, sender, time and nonce (filled by encodeFrame). */
export type Outgoing =
  & { id: string; re?: string; to: string }
  & (
    | { [K in CoreKind]: { kind: K; body: Body<K> } }[CoreKind]
    | { kind: `pipe.${string}`; body: unknown }
    | { kind: `ledger.${string}`; body: unknown }
    | { kind: OverlayKind; body: unknown }
    | { kind: AuditKind; body: unknown }
  );

/** The sender's side of encoding: its id, clock reading, a fresh nonce and its signer. */
export interface Sender {
  from: string;
  ts: number;
  nonce: string;
  /** Signs bytes; null = unsigned (hello and auth only). */
  sign: ((bytes: Uint8Array) => string) | null;
}

/**
 * Encodes a message as a text frame.
 *
 * @param msg kind, body, ids.
 * @param sender who, when, nonce, signer.
 * @returns the frame text.
 */
export function encodeFrame(msg: Outgoing, sender: Sender): string {
  const envelope = {
    v: PROTOCOL_VERSION_STRING,
    kind: msg.kind,
    id: msg.id,
    ...(msg.re !== undefined ? { re: msg.re } : {}),
    from: sender.from,
    to: msg.to,
    ts: sender.ts,
    nonce: sender.nonce,
    body: msg.body,
  };
  const text = JSON.stringify(envelope);
  const sig = sender.sign ? sender.sign(encoder.encode(SIGN_DOMAIN + text)) : "";
  return JSON.stringify({ sig, msg: text });
}

/** What the receiver knows when checking a signed envelope. */
export interface CheckContext {
  self: string;
  /** The authenticated peer on this connection. */
  peer: string;
  now: number;
  verify: (nodeId: string, bytes: Uint8Array, sigHex: string) => boolean;
  /** Records (from, nonce) and says whether it was new. */
  remember: (from: string, nonce: string, ts: number, now: number) => "new" | "replay" | "stale";
}

/**
 * Checks a signed envelope after the handshake: sender, recipient, signature, time, nonce.
 *
 * @param frame the parsed frame.
 * @param ctx ids, clock reading, verifier, nonce cache.
 * @returns ok, or the fault to answer.
 */
export function checkEnvelope(frame: ParsedFrame, ctx: CheckContext): Result<true, ProtocolFault> {
  const e = frame.envelope;
  if (HANDSHAKE_KINDS.includes(e.kind)) {
    return fault("UNKNOWN_TYPE", `${e.kind} is only valid during the handshake`, e.id);
  }
  if (e.from !== ctx.peer) {
    return fault("BAD_SIGNATURE", "Sender is not the peer authenticated on this connection", e.id);
  }
  if (e.to !== ctx.self) {
    return fault("BAD_SIGNATURE", "Message is addressed to another node", e.id);
  }
  if (!ctx.verify(e.from, frame.signed, frame.sig)) {
    return fault("BAD_SIGNATURE", "Signature does not verify for the sender", e.id);
  }
  if (Math.abs(e.ts - ctx.now) > MAX_SKEW_MS) {
    return fault(
      "STALE",
      `Timestamp differs from this node's clock by over ${MAX_SKEW_MS} ms`,
      e.id,
    );
  }
  const seen = ctx.remember(e.from, e.nonce, e.ts, ctx.now);
  if (seen === "replay") return fault("REPLAY", "Nonce was already used", e.id);
  if (seen === "stale") return fault("STALE", "Message is older than the replay window", e.id);
  return { ok: true, value: true };
}
