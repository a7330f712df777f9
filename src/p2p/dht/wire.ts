/**
 * @module Bodies of the `dht.*` kinds (protocol 2.1, docs/protocol.md "Provider lookup"). They
 * travel in the ordinary signed envelope (protocol.ts), so the sender of every request and reply
 * is authenticated; this file checks only the bodies. Pure.
 *
 *   dht.find_node      {target}                 -> dht.nodes     {closer}
 *   dht.find_providers {key}                    -> dht.providers {providers, closer}
 *   dht.add_provider   {record}                 -> dht.stored    {ok, reason}
 *   dht.list_models    {}                       -> dht.models    {models: [{id, providers}]}
 *
 * `closer` lists at most K_MAX contacts {id, url}; a contact without url is never returned (only
 * dialable nodes enter routing tables). `record` is a provider record signed by its provider.
 */
import { z } from "zod";
import { providerRecordSchema } from "./providers.ts";
import type { Result } from "../../shared/result.ts";

/** Most contacts or records in one reply. Why 20: k. */
export const K_MAX = 20;

/** Most models in one dht.models reply. */
export const MODELS_MAX = 64;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const url = z.string().max(300).regex(/^wss?:\/\/[^\s]+$/);

/** A contact on the wire. */
export const wireContactSchema = z.object({ id: hex64, url });
/** A contact on the wire. */
export type WireContact = z.infer<typeof wireContactSchema>;

/** Body schema of each dht kind. */
export const DHT_SCHEMAS = {
  "dht.find_node": z.object({ target: hex64 }),
  "dht.nodes": z.object({ closer: z.array(wireContactSchema).max(K_MAX) }),
  "dht.find_providers": z.object({ key: hex64 }),
  "dht.providers": z.object({
    providers: z.array(providerRecordSchema).max(K_MAX),
    closer: z.array(wireContactSchema).max(K_MAX),
  }),
  "dht.add_provider": z.object({ record: providerRecordSchema }),
  "dht.stored": z.object({ ok: z.boolean(), reason: z.string().max(100) }),
  "dht.list_models": z.object({}),
  "dht.models": z.object({
    models: z.array(z.object({
      id: z.string().min(1).max(128),
      providers: z.number().int().min(0).max(1_000_000),
    })).max(MODELS_MAX),
  }),
} as const;

/** A dht kind. */
export type DhtKind = keyof typeof DHT_SCHEMAS;
/** A dht message: kind and validated body. */
export type DhtMessage = {
  [K in DhtKind]: { kind: K; body: z.infer<(typeof DHT_SCHEMAS)[K]> };
}[DhtKind];
/** A request kind. */
export type DhtRequest = Extract<
  DhtMessage,
  { kind: "dht.find_node" | "dht.find_providers" | "dht.add_provider" | "dht.list_models" }
>;
/** A reply kind. */
export type DhtReply = Extract<
  DhtMessage,
  { kind: "dht.nodes" | "dht.providers" | "dht.stored" | "dht.models" }
>;

/**
 * Validates a dht body received in an envelope of kind `kind`.
 *
 * @returns the message, or a one-line reason (answered MISSING_FIELDS / UNKNOWN_TYPE by the node).
 */
export function parseDhtMessage(kind: string, body: unknown): Result<DhtMessage, string> {
  if (!Object.hasOwn(DHT_SCHEMAS, kind)) {
    return { ok: false, error: `Unknown dht kind "${kind.slice(0, 64)}"` };
  }
  const parsed = DHT_SCHEMAS[kind as DhtKind].safeParse(body);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return {
      ok: false,
      error: `${kind} body ${i ? `${i.path.join(".") || "(root)"}: ${i.message}` : "invalid"}`,
    };
  }
  return { ok: true, value: { kind, body: parsed.data } as DhtMessage };
}
