/**
 * @module Bodies of the `reach.*` and `relay.*` kinds (protocol 2.1, docs/protocol.md
 * "Reachability" and "Relays"). They travel in the ordinary signed envelope, so the sender of
 * each is authenticated; this file checks only the bodies. Pure.
 *
 *   reach.check    {url, nonce}                 -> reach.result {nonce, outcome, reason}
 *   reach.dialback {nonce}                      (on the dial-back connection)
 *   relay.reserve  {}                           -> relay.reserved {expiresMs, limits} | relay.refused
 *   relay.connect  {target, circuit}            -> relay.connected {circuit} | relay.refused
 *   relay.incoming {circuit, from}              relay -> target; answered relay.accept | relay.refuse
 *   relay.data     {circuit, frame}             either end <-> relay; `frame` is an end-to-end frame
 *   relay.close    {circuit}                    either end -> relay
 *   relay.closed   {circuit, reason}            relay -> the other end(s)
 */
import { z } from "zod";
import type { Result } from "../../shared/result.ts";

/** Largest end-to-end frame inside relay.data. Why: the outer frame must stay within 1 MiB
 * (MAX_FRAME_BYTES) with its envelope and the JSON escaping of the inner frame. */
export const MAX_RELAYED_FRAME_CHARS = 512 * 1024;

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
const circuit = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);
const reason = z.string().max(100);

/** Body schema of each kind. */
export const RELAY_SCHEMAS = {
  "reach.check": z.object({ url: z.string().max(300).regex(/^wss?:\/\/[^\s]+$/), nonce: hex(32) }),
  "reach.result": z.object({
    nonce: hex(32),
    outcome: z.enum(["dialled", "failed", "refused"]),
    reason,
  }),
  "reach.dialback": z.object({ nonce: hex(32) }),
  "relay.reserve": z.object({}),
  "relay.reserved": z.object({
    expiresMs: z.number().int().min(0),
    limits: z.object({
      maxCircuitBytes: z.number().int().min(0),
      maxCircuitMs: z.number().int().min(0),
      maxBytesPerSecond: z.number().int().min(0),
    }),
  }),
  "relay.refused": z.object({ circuit: circuit.nullable(), reason }),
  "relay.connect": z.object({ target: hex(64), circuit }),
  "relay.connected": z.object({ circuit }),
  "relay.incoming": z.object({ circuit, from: hex(64) }),
  "relay.accept": z.object({ circuit }),
  "relay.refuse": z.object({ circuit }),
  "relay.data": z.object({ circuit, frame: z.string().max(MAX_RELAYED_FRAME_CHARS) }),
  "relay.close": z.object({ circuit }),
  "relay.closed": z.object({ circuit, reason }),
} as const;

/** A reach or relay kind. */
export type RelayKind = keyof typeof RELAY_SCHEMAS;
/** A message: kind and validated body. */
export type RelayMessage = {
  [K in RelayKind]: { kind: K; body: z.infer<(typeof RELAY_SCHEMAS)[K]> };
}[RelayKind];

/**
 * Validates a body received in an envelope of kind `kind`.
 *
 * @returns the message, or a one-line reason (answered MISSING_FIELDS / UNKNOWN_TYPE).
 */
export function parseRelayMessage(kind: string, body: unknown): Result<RelayMessage, string> {
  if (!Object.hasOwn(RELAY_SCHEMAS, kind)) {
    return { ok: false, error: `Unknown kind "${kind.slice(0, 64)}"` };
  }
  const parsed = RELAY_SCHEMAS[kind as RelayKind].safeParse(body);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return {
      ok: false,
      error: `${kind} body ${i ? `${i.path.join(".") || "(root)"}: ${i.message}` : "invalid"}`,
    };
  }
  return { ok: true, value: { kind, body: parsed.data } as RelayMessage };
}
