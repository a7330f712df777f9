/**
 * @module The consent step of a serving node [S]: the energy meter (RAPL, else CPU time × W/core)
 * around the consent gate, and the energy of each finished request kept until its ledger
 * record asks for it. Moved from src/cli/serve.ts unchanged.
 */
import { availableParallelism } from "node:os";
import {
  EnergyMeter,
  type PolicyGate,
  type RequestEnergy,
  resolvePowerProfile,
  SOURCE_RAPL,
  sysfsPowerSource,
  withEnergy,
} from "../consent/index.ts";
import type { WorkFacts } from "../ledger/index.ts";
import type { Clock } from "../shared/clock.ts";
import type { Log } from "../shared/log.ts";

/** Most finished requests whose energy waits for its ledger record. Why 1024: far more than
 * can finish between a generator's end and its receipt, even with many slots. */
const MAX_PENDING_WORK = 1024;

/** The metered consent gate and what it measured. */
export interface Metering {
  meter: EnergyMeter;
  /** The consent gate that also measures each admitted request's energy. */
  gate: ReturnType<typeof withEnergy>;
  /** The ledger facts of one finished request (and forgets it). */
  workFacts(requestId: string): WorkFacts;
}

/**
 * Puts the energy meter around the consent gate.
 *
 * @param gate the node's consent gate.
 * @param options the clock, the log (one line per request's energy), the --tdp-watts figure.
 * @returns the metered gate, the meter and the per-request facts.
 */
export function meterConsent(
  gate: PolicyGate,
  options: Readonly<{ clock: Clock; log: Log; tdpWatts: number | undefined }>,
): Metering {
  const { clock, log } = options;
  const power = sysfsPowerSource();
  const meter = new EnergyMeter(
    power,
    clock,
    resolvePowerProfile(power, availableParallelism(), options.tdpWatts),
  );
  // Energy per request, measured from admission to release. It is known when the generator
  // ends, just before the API asks the ledger for the receipt, so it waits here for its record.
  // Bounded: requests that end without a record (other backends, failures) are dropped oldest
  // first instead of accumulating.
  const work = new Map<string, RequestEnergy>();
  const metered = withEnergy(gate, meter, (used) => {
    // a request without an id gets no ledger record, so its energy is only logged
    if (used.request.requestId !== undefined) work.set(used.request.requestId, used);
    if (work.size > MAX_PENDING_WORK) work.delete(work.keys().next().value!);
    log({
      level: "info",
      msg: "request energy",
      requestId: used.request.requestId,
      model: used.request.model,
      policyHash: used.policyHash,
      tokens: used.tokens,
      ...used.energy,
    });
  });
  return { meter, gate: metered, workFacts: (requestId) => workFacts(work, requestId) };
}

/**
 * The ledger facts of one finished request from what the metered consent gate saw (and forgets
 * it). RAPL is "measured"; the CPU-time estimate is "estimated"; when neither is available the
 * record says 0 mJ "estimated" (the ledger has no "unavailable"; the serve log says why).
 */
function workFacts(work: Map<string, RequestEnergy>, requestId: string): WorkFacts {
  const used = work.get(requestId);
  work.delete(requestId);
  if (used === undefined) return { energyMj: 0, energySource: "estimated" };
  const mj = used.energy.mj ?? 0;
  return {
    energyMj: Math.max(0, Math.round(mj)),
    energySource: used.energy.source === SOURCE_RAPL ? "measured" : "estimated",
    consentHash: used.policyHash,
  };
}
