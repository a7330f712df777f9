/**
 * @module The two ends of a relayed connection: the client that asked a relay to connect it and
 * the unreachable node (target) that accepted. Each end checks every frame that comes out of
 * `relay.data` as it would on a direct connection — `parseFrame` then `checkEnvelope` with the
 * circuit's far end as the authenticated peer — so a relay that changes a byte produces
 * BAD_SIGNATURE, one that replays produces REPLAY, one that swaps circuits produces a sender
 * mismatch; the end closes the circuit on any of them. Pure.
 */
import {
  type CheckContext,
  checkEnvelope,
  type ParsedFrame,
  parseFrame,
  type ProtocolFault,
} from "../protocol.ts";
import type { Result } from "../../shared/result.ts";

/** A circuit as one end sees it. */
export interface CircuitEnd {
  readonly circuit: string;
  /** The relay's node id (the circuit rides on our connection to it). */
  readonly relay: string;
  /** The node at the other end. */
  readonly remote: string;
  readonly role: "client" | "target";
}

/** Why a relayed frame was refused (the circuit is closed on any). */
export interface RelayedFault {
  readonly circuit: string;
  readonly fault: ProtocolFault;
}

/**
 * Opens a frame that arrived in `relay.data` on `end`.
 *
 * @param end the circuit.
 * @param from the node that sent the relay.data envelope (must be the circuit's relay).
 * @param frame the inner frame text.
 * @param ctx our id, clock, verifier and nonce cache (`peer` is replaced by the circuit's remote).
 * @returns the parsed, checked frame, or the fault (then close the circuit).
 */
export function openRelayed(
  end: CircuitEnd,
  from: string,
  frame: string,
  ctx: Omit<CheckContext, "peer">,
): Result<ParsedFrame, RelayedFault> {
  const fail = (fault: ProtocolFault) => ({
    ok: false as const,
    error: { circuit: end.circuit, fault },
  });
  // handled here: relay.data for this circuit from anyone but its relay is refused
  if (from !== end.relay) {
    return fail({
      code: "BAD_SIGNATURE",
      message: "Relayed frame from a node that is not the circuit's relay",
    });
  }
  const parsed = parseFrame(frame);
  if (!parsed.ok) return fail(parsed.error);
  const checked = checkEnvelope(parsed.value, { ...ctx, peer: end.remote });
  if (!checked.ok) return fail(checked.error);
  return parsed;
}
