/**
 * @module Shell: measures the energy of a piece of work (one inference). Reads the RAPL counters
 * under /sys/class/powercap (top-level package zones `intel-rapl:N`, also used by the kernel for
 * AMD Zen; their sub-zones are parts of the package and are not added again) when they are
 * readable — since Linux 5.10 energy_uj is root-only (CVE-2020-8694) — and otherwise estimates
 * from this process's CPU time (process.cpuUsage: user + system, all threads) × watts per core.
 *
 * Watts per core: the configured package power (`tdpWatts`, the TDP of all CPU packages
 * together, from the CPU maker's specification) divided by the logical cores; else detected from
 * the RAPL long-term power limit (constraint_0_power_limit_uw, "PL1", which firmware usually
 * sets to the TDP and which stays readable when energy_uj is not); else none, and the energy is
 * reported as "unavailable" rather than guessed. The arithmetic is in energy.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  cpuTimeEnergyUj,
  EnergyError,
  type EnergyMeasurement,
  type PowerProfile,
  powerProfile,
  raplEnergyUj,
  type RaplSample,
  SOURCE_CPU_TIME,
  SOURCE_NONE,
  SOURCE_RAPL,
  ujToMj,
} from "./energy.ts";

/** Where energy readings come from (tests inject a fake). */
export interface PowerSource {
  /** Top-level RAPL zone counters, or undefined when absent or unreadable. */
  readRapl(): RaplSample[] | undefined;
  /** CPU time of this process in microseconds (user + system, all threads). */
  cpuMicros(): number;
  /** Sum of the zones' long-term power limits in watts, or undefined. */
  packagePowerLimitWatts(): number | undefined;
}

/** The default powercap root. */
export const POWERCAP_ROOT = "/sys/class/powercap";

const PACKAGE_ZONE = /^intel-rapl:[0-9]+$/;

function readInt(path: string): number | undefined {
  try {
    const text = readFileSync(path, "utf8").trim();
    return /^[0-9]+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined; // handled here: absent or not readable (EACCES) = no reading
  }
}

function packageZones(root: string): string[] {
  try {
    return readdirSync(root).filter((z) => PACKAGE_ZONE.test(z)).sort();
  } catch {
    return []; // handled here: no powercap on this machine (VMs, non-Linux)
  }
}

/**
 * The real power source of this machine.
 *
 * @param root the powercap directory (tests pass a fake tree).
 * @returns the source.
 */
export function sysfsPowerSource(root = POWERCAP_ROOT): PowerSource {
  return {
    readRapl() {
      const zones = packageZones(root);
      const samples: RaplSample[] = [];
      for (const zone of zones) {
        const energyUj = readInt(join(root, zone, "energy_uj"));
        const maxRangeUj = readInt(join(root, zone, "max_energy_range_uj"));
        if (energyUj === undefined || maxRangeUj === undefined) return undefined;
        samples.push({ zone, energyUj, maxRangeUj });
      }
      return samples.length > 0 ? samples : undefined;
    },
    cpuMicros() {
      const u = process.cpuUsage();
      return u.user + u.system;
    },
    packagePowerLimitWatts() {
      let uw = 0;
      for (const zone of packageZones(root)) {
        let name = "";
        try {
          name = readFileSync(join(root, zone, "constraint_0_name"), "utf8").trim();
        } catch {
          return undefined; // handled here: no constraint files = nothing detected
        }
        const limit = readInt(join(root, zone, "constraint_0_power_limit_uw"));
        if (name !== "long_term" || limit === undefined || limit === 0) return undefined;
        uw += limit;
      }
      return uw > 0 ? uw / 1e6 : undefined;
    },
  };
}

/**
 * Watts per core: configured, else detected from RAPL PL1, else undefined.
 *
 * @param source the power source (for detection).
 * @param cores logical cores of the machine.
 * @param tdpWatts configured package power of all CPUs together, if any.
 * @returns the profile with its basis, or undefined.
 * @throws {EnergyError} for a configured value that is not a positive number.
 */
export function resolvePowerProfile(
  source: PowerSource,
  cores: number,
  tdpWatts?: number,
): PowerProfile | undefined {
  if (tdpWatts !== undefined) return powerProfile(tdpWatts, cores, "configured TDP");
  const pl1 = source.packagePowerLimitWatts();
  return pl1 === undefined ? undefined : powerProfile(pl1, cores, "detected RAPL PL1");
}

/** A running measurement. */
export interface EnergySpan {
  /** Ends the measurement (call once). */
  stop(): EnergyMeasurement;
}

/** Measures spans of work with the best method this machine allows. */
export class EnergyMeter {
  /** "rapl" when the counters were readable at construction, else "cpu-time" or "none". */
  readonly method: "rapl" | "cpu-time" | "none";

  /**
   * @param source counters and CPU time.
   * @param clock wall-clock milliseconds (for durations).
   * @param profile watts per core for the estimate (resolvePowerProfile), if any.
   */
  constructor(
    private readonly source: PowerSource,
    private readonly clock: { nowMs(): number },
    private readonly profile: PowerProfile | undefined,
  ) {
    this.method = source.readRapl() !== undefined
      ? "rapl"
      : profile !== undefined
      ? "cpu-time"
      : "none";
  }

  /**
   * Starts measuring.
   *
   * @returns the span; `stop()` returns energy in integer mJ with its source.
   */
  start(): EnergySpan {
    const t0 = this.clock.nowMs();
    const cpu0 = this.source.cpuMicros();
    const rapl0 = this.method === "rapl" ? this.source.readRapl() : undefined;
    return { stop: () => this.#finish(t0, cpu0, rapl0) };
  }

  #finish(t0: number, cpu0: number, rapl0: RaplSample[] | undefined): EnergyMeasurement {
    const durationMs = Math.max(0, Math.round(this.clock.nowMs() - t0));
    if (rapl0 !== undefined) {
      const rapl1 = this.source.readRapl();
      try {
        if (rapl1 !== undefined) {
          const uj = raplEnergyUj(rapl0, rapl1);
          const basis = `package zones ${rapl0.map((s) => s.zone).join(", ")}`;
          return { source: SOURCE_RAPL, mj: ujToMj(uj), durationMs, basis };
        }
      } catch (err: unknown) {
        // Handled here: zones changed mid-measurement; fall through to the estimate.
        if (!(err instanceof EnergyError)) throw err;
      }
    }
    const p = this.profile;
    if (p === undefined) {
      const basis = "no readable RAPL counters and no TDP configured or detected";
      return { source: SOURCE_NONE, mj: null, durationMs, basis };
    }
    const cpu = Math.max(0, this.source.cpuMicros() - cpu0);
    const uj = cpuTimeEnergyUj(Math.round(cpu), p.milliwattsPerCore);
    // The basis is the same for every span of this meter, so that attestations list it once.
    const basis = `${p.milliwattsPerCore / 1000} W/core (${p.basis})`;
    return { source: SOURCE_CPU_TIME, mj: ujToMj(uj), durationMs, basis };
  }
}
