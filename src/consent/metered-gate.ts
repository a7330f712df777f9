/**
 * @module Energy per request through the consent gate: every admitted request is bracketed by
 * the gate (admit … release), so wrapping the gate measures each request's energy from admission
 * to release (queue wait included) and reports it with the request's tokens. Pure given the
 * injected meter (meter.ts is the shell that reads counters).
 */
import type { EnergyMeasurement } from "./energy.ts";
import type { ConsentRequest } from "./evaluate.ts";
import type { ConsentTicket } from "./gate.ts";
import { type ConsentPolicy, policyHash } from "./policy.ts";

/** What one admitted request used. */
export interface RequestEnergy {
  request: ConsentRequest;
  /** Hash of the consent policy that admitted the request (the record's consent contract). */
  policyHash: string;
  /** Tokens counted on the ticket (prompt + generated). */
  tokens: number;
  energy: EnergyMeasurement;
}

/**
 * Wraps a gate so that each admitted request's energy is measured and reported on release.
 *
 * @param gate the consent gate (PolicyGate).
 * @param meter something that starts energy spans (EnergyMeter).
 * @param onDone receives each request's tokens and energy, once, when it is released.
 * @returns a gate with the same admit contract.
 */
export function withEnergy(
  gate: { admit(request: ConsentRequest): ConsentTicket; readonly policy: ConsentPolicy },
  meter: { start(): { stop(): EnergyMeasurement } },
  onDone: (used: RequestEnergy) => void,
): { admit(request: ConsentRequest): ConsentTicket } {
  return {
    admit(request) {
      const ticket = gate.admit(request); // a refusal throws before any span starts
      const admittedUnder = policyHash(gate.policy);
      const span = meter.start();
      let tokens = 0;
      let done = false;
      return {
        addTokens(n) {
          ticket.addTokens(n);
          if (Number.isSafeInteger(n) && n > 0) tokens += n;
        },
        release() {
          if (done) return;
          done = true;
          ticket.release();
          onDone({ request, policyHash: admittedUnder, tokens, energy: span.stop() });
        },
      };
    },
  };
}
