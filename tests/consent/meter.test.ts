/** The energy meter with an injected clock and power source, and sysfs reading over a fake tree. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RaplSample } from "../../src/consent/energy.ts";
import {
  EnergyMeter,
  type PowerSource,
  resolvePowerProfile,
  sysfsPowerSource,
} from "../../src/consent/meter.ts";

/** A power source whose counters and CPU time the test sets. */
function fakeSource(rapl: RaplSample[] | undefined, pl1?: number) {
  const state = { rapl, cpu: 0, readable: rapl !== undefined };
  const source: PowerSource = {
    readRapl: () => (state.readable ? state.rapl?.map((s) => ({ ...s })) : undefined),
    cpuMicros: () => state.cpu,
    packagePowerLimitWatts: () => pl1,
  };
  return { state, source };
}

function fakeClock(ms = 1_000) {
  const c = { ms, nowMs: () => c.ms };
  return c;
}

const PROFILE = { milliwattsPerCore: 10_000, basis: "configured TDP 20 W / 2 cores" };

describe("EnergyMeter", () => {
  test("RAPL: measured energy across a wrap-around, with duration and source", () => {
    const { state, source } = fakeSource([
      { zone: "intel-rapl:0", energyUj: 999_000_000, maxRangeUj: 1_000_000_000 },
    ]);
    const clock = fakeClock();
    const meter = new EnergyMeter(source, clock, PROFILE);
    expect(meter.method).toBe("rapl");
    const span = meter.start();
    state.rapl![0]!.energyUj = 2_500_000; // wrapped: 1_000_000 + 2_500_000 µJ = 3.5 J
    clock.ms += 250;
    state.cpu = 9_999_999; // ignored when RAPL is readable
    expect(span.stop()).toEqual({
      source: "measured: rapl",
      mj: 3_500,
      durationMs: 250,
      basis: "package zones intel-rapl:0",
    });
  });
  test("no RAPL: CPU time × W/core, labelled as an estimate with its basis", () => {
    const { state, source } = fakeSource(undefined);
    const clock = fakeClock();
    const meter = new EnergyMeter(source, clock, PROFILE);
    expect(meter.method).toBe("cpu-time");
    state.cpu = 1_000_000;
    const span = meter.start();
    state.cpu = 1_300_000; // 0.3 s of CPU × 10 W = 3 J
    clock.ms += 200;
    expect(span.stop()).toEqual({
      source: "estimated: cpu-time × W/core",
      mj: 3_000,
      durationMs: 200,
      basis: "10 W/core (configured TDP 20 W / 2 cores)",
    });
  });
  test("RAPL unreadable at the end of a span: falls back to the estimate", () => {
    const { state, source } = fakeSource([{ zone: "intel-rapl:0", energyUj: 0, maxRangeUj: 10 }]);
    const meter = new EnergyMeter(source, fakeClock(), PROFILE);
    const span = meter.start();
    state.readable = false;
    state.cpu = 100;
    expect(span.stop()).toMatchObject({ source: "estimated: cpu-time × W/core", mj: 1 });
  });
  test("neither RAPL nor a TDP: unavailable, no number made up", () => {
    const { source } = fakeSource(undefined);
    const meter = new EnergyMeter(source, fakeClock(), undefined);
    expect(meter.method).toBe("none");
    expect(meter.start().stop()).toMatchObject({ source: "unavailable", mj: null });
  });
});

describe("resolvePowerProfile", () => {
  test("configured beats detected; detected from PL1; else none", () => {
    expect(resolvePowerProfile(fakeSource(undefined, 45).source, 4, 65)).toEqual({
      milliwattsPerCore: 16_250,
      basis: "configured TDP 65 W / 4 cores",
    });
    expect(resolvePowerProfile(fakeSource(undefined, 45).source, 4)).toEqual({
      milliwattsPerCore: 11_250,
      basis: "detected RAPL PL1 45 W / 4 cores",
    });
    expect(resolvePowerProfile(fakeSource(undefined).source, 4)).toBeUndefined();
  });
});

describe("sysfsPowerSource over a fake powercap tree", () => {
  let root = "";
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "aria-powercap-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function zone(name: string, files: Record<string, string>) {
    mkdirSync(join(root, name));
    for (const [f, v] of Object.entries(files)) writeFileSync(join(root, name, f), `${v}\n`);
  }

  test("reads package zones only (sub-zones are inside them) and the PL1 limits", () => {
    const pl1 = { constraint_0_name: "long_term", constraint_0_power_limit_uw: "65000000" };
    zone("intel-rapl:0", { energy_uj: "123", max_energy_range_uj: "262143328850", ...pl1 });
    zone("intel-rapl:1", { energy_uj: "7", max_energy_range_uj: "1000", ...pl1 });
    zone("intel-rapl:0:0", { energy_uj: "99", max_energy_range_uj: "1000" });
    const s = sysfsPowerSource(root);
    expect(s.readRapl()).toEqual([
      { zone: "intel-rapl:0", energyUj: 123, maxRangeUj: 262143328850 },
      { zone: "intel-rapl:1", energyUj: 7, maxRangeUj: 1000 },
    ]);
    expect(s.packagePowerLimitWatts()).toBe(130);
    expect(s.cpuMicros()).toBeGreaterThan(0);
  });
  test("an unreadable or garbled counter means no RAPL reading", () => {
    zone("intel-rapl:0", { energy_uj: "n/a", max_energy_range_uj: "1000" });
    expect(sysfsPowerSource(root).readRapl()).toBeUndefined();
    expect(sysfsPowerSource(root).packagePowerLimitWatts()).toBeUndefined();
    expect(sysfsPowerSource(join(root, "absent")).readRapl()).toBeUndefined();
  });
});
