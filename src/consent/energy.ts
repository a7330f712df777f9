/**
 * @module Proof of Sobriety, the arithmetic: energy of an inference from RAPL counters (measured)
 * or from CPU time × watts per core (estimated), always labelled with its source; integer
 * millijoules; and the per-block attestation (tokens, energy, energy per token, and a rating
 * only against a baseline the operator states with its source). Pure: samples, times and the
 * power profile come in; reading /sys and the process is meter.ts's job.
 *
 * Units: counters and intermediate sums in integer microjoules (µJ, what RAPL reports);
 * results in integer millijoules (mJ), rounded half up. No constant here is a claim about any
 * hardware: watts per core and every baseline come from the caller, with a source string.
 *
 * Limits (said again in docs/consent-energy.md):
 * - RAPL measures a whole package (all processes, all concurrent requests) over the request's
 *   wall time; concurrent requests each include the energy of the overlap.
 * - A counter wraps at max_energy_range_uj; one wrap between two readings is corrected, more
 *   than one cannot be seen (a reading is taken at least once per request; at 100 W a 2^38 µJ
 *   range wraps after about 45 minutes).
 * - The CPU-time estimate assumes every busy core draws watts-per-core; it ignores idle power,
 *   memory, turbo and frequency changes. It is an estimate and labelled so.
 */
import { AriaError } from "../shared/errors.ts";

/** Source label of measured energy. */
export const SOURCE_RAPL = "measured: rapl";
/** Source label of estimated energy. */
export const SOURCE_CPU_TIME = "estimated: cpu-time × W/core";
/** Label when neither RAPL nor a watts-per-core figure is available (no number is made up). */
export const SOURCE_NONE = "unavailable";

/** How energy was obtained. */
export type EnergySource = typeof SOURCE_RAPL | typeof SOURCE_CPU_TIME;

/** One RAPL zone's counter. */
export interface RaplSample {
  /** Zone directory, e.g. "intel-rapl:0". */
  zone: string;
  /** energy_uj. */
  energyUj: number;
  /** max_energy_range_uj: the counter wraps to 0 after this value. */
  maxRangeUj: number;
}

/** Watts per busy core for the CPU-time estimate, and where that figure comes from. */
export interface PowerProfile {
  /** Integer milliwatts per core (8125 = 8.125 W). */
  milliwattsPerCore: number;
  /** E.g. "configured: --tdp-watts 65 / 8 cores" or "detected: RAPL PL1 65 W / 8 cores". */
  basis: string;
}

/** The energy of one piece of work. */
export type EnergyMeasurement =
  | { source: EnergySource; mj: number; durationMs: number; basis: string }
  | { source: typeof SOURCE_NONE; mj: null; durationMs: number; basis: string };

/** A counter that cannot be used (missing zone, value out of range). */
export class EnergyError extends AriaError {
  /** @param message what is wrong. */
  constructor(message: string) {
    super("ENERGY_INVALID", message);
  }
}

function auint(value: number, title: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new EnergyError(`${title} must be a non-negative integer (got ${value})`);
  }
}

/**
 * Energy between two readings of one RAPL counter, correcting one wrap-around.
 *
 * @param beforeUj the first energy_uj.
 * @param afterUj the second energy_uj.
 * @param maxRangeUj max_energy_range_uj of the zone.
 * @returns microjoules used.
 * @throws {EnergyError} for a value that is not an integer in [0, maxRangeUj].
 * @example
 * ```ts
 * raplDeltaUj(999_000, 1_000, 1_000_000); // 2_000: wrapped once
 * ```
 */
export function raplDeltaUj(beforeUj: number, afterUj: number, maxRangeUj: number): number {
  auint(maxRangeUj, "max_energy_range_uj");
  auint(beforeUj, "energy_uj");
  auint(afterUj, "energy_uj");
  if (maxRangeUj === 0 || beforeUj > maxRangeUj || afterUj > maxRangeUj) {
    throw new EnergyError(`energy_uj outside [0, ${maxRangeUj}]: ${beforeUj}, ${afterUj}`);
  }
  // The counter runs 0..maxRangeUj and then restarts at 0 (linux powercap sysfs ABI). Whether
  // the step from the top to 0 is itself 0 or 1 µJ the ABI does not say: at most 1 µJ per wrap.
  return afterUj >= beforeUj ? afterUj - beforeUj : maxRangeUj - beforeUj + afterUj;
}

/**
 * Energy over all zones between two sets of readings (zones matched by name).
 *
 * @param before readings at the start.
 * @param after readings at the end.
 * @returns microjoules used.
 * @throws {EnergyError} when the zones differ (a zone appeared or vanished).
 */
export function raplEnergyUj(before: readonly RaplSample[], after: readonly RaplSample[]): number {
  if (before.length === 0 || before.length !== after.length) {
    throw new EnergyError(
      `RAPL zones changed between readings (${before.length} -> ${after.length})`,
    );
  }
  let total = 0;
  for (const b of before) {
    const a = after.find((s) => s.zone === b.zone);
    if (a === undefined) throw new EnergyError(`RAPL zone ${b.zone} vanished between readings`);
    total += raplDeltaUj(b.energyUj, a.energyUj, b.maxRangeUj);
  }
  return total;
}

/**
 * Estimated energy of CPU time: µs × mW = nJ, so µJ = µs × mW / 1000.
 *
 * @param cpuMicros CPU time used (user + system, all threads), microseconds.
 * @param milliwattsPerCore power of one busy core.
 * @returns microjoules (rounded half up).
 */
export function cpuTimeEnergyUj(cpuMicros: number, milliwattsPerCore: number): number {
  auint(cpuMicros, "CPU time");
  auint(milliwattsPerCore, "milliwatts per core");
  return Math.round((cpuMicros * milliwattsPerCore) / 1000);
}

/**
 * Microjoules to integer millijoules (rounded half up).
 *
 * @param uj microjoules.
 * @returns millijoules.
 */
export function ujToMj(uj: number): number {
  return Math.round(uj / 1000);
}

/**
 * Watts per core from a package power (TDP or RAPL PL1) and its core count.
 *
 * @param watts package power in watts (may have decimals).
 * @param cores logical cores sharing it.
 * @param basis where `watts` comes from, e.g. "configured: --tdp-watts".
 * @returns the profile with an exact basis string.
 * @throws {EnergyError} for a non-positive power or core count.
 */
export function powerProfile(watts: number, cores: number, basis: string): PowerProfile {
  if (!(watts > 0) || !Number.isFinite(watts) || !Number.isSafeInteger(cores) || cores < 1) {
    throw new EnergyError(`Cannot derive watts per core from ${watts} W and ${cores} cores`);
  }
  const milliwattsPerCore = Math.round((watts * 1000) / cores);
  return { milliwattsPerCore, basis: `${basis} ${watts} W / ${cores} cores` };
}
