import { describe, expect, test } from "bun:test";
import {
  cpuTimeEnergyUj,
  EnergyError,
  powerProfile,
  raplDeltaUj,
  raplEnergyUj,
  ujToMj,
} from "./energy.ts";

const MAX = 262_143_328_850; // a max_energy_range_uj value as a Linux powercap zone reports it

describe("raplDeltaUj", () => {
  const rows: [string, number, number, number, number][] = [
    ["no change", 5, 5, MAX, 0],
    ["forward", 1_000, 4_500, MAX, 3_500],
    ["wrap just past the top", MAX - 10, 5, MAX, 15],
    ["wrap from the top itself", MAX, 0, MAX, 0],
    ["wrap to the value just below the start", 100, 99, MAX, MAX - 1],
    ["small range", 999_000, 1_000, 1_000_000, 2_000],
    ["up to the top", 0, MAX, MAX, MAX],
  ];
  for (const [name, before, after, max, expected] of rows) {
    test(name, () => expect(raplDeltaUj(before, after, max)).toBe(expected));
  }
  const bad: [string, number, number, number][] = [
    ["negative", -1, 5, MAX],
    ["above the range", MAX + 1, 5, MAX],
    ["fractional", 1.5, 5, MAX],
    ["zero range", 0, 0, 0],
    ["NaN", Number.NaN, 5, MAX],
  ];
  for (const [name, before, after, max] of bad) {
    test(`refused: ${name}`, () =>
      expect(() => raplDeltaUj(before, after, max)).toThrow(EnergyError));
  }
});

describe("raplEnergyUj", () => {
  test("sums package zones, each with its own wrap", () => {
    const before = [
      { zone: "intel-rapl:0", energyUj: 900, maxRangeUj: 1000 },
      { zone: "intel-rapl:1", energyUj: 10, maxRangeUj: 5000 },
    ];
    const after = [
      { zone: "intel-rapl:1", energyUj: 60, maxRangeUj: 5000 },
      { zone: "intel-rapl:0", energyUj: 100, maxRangeUj: 1000 },
    ];
    expect(raplEnergyUj(before, after)).toBe(200 + 50);
  });
  test("a vanished or added zone is refused", () => {
    const a = [{ zone: "intel-rapl:0", energyUj: 1, maxRangeUj: 10 }];
    const b = [{ zone: "intel-rapl:1", energyUj: 1, maxRangeUj: 10 }];
    expect(() => raplEnergyUj(a, b)).toThrow("vanished");
    expect(() => raplEnergyUj(a, [...a, ...b])).toThrow("zones changed");
    expect(() => raplEnergyUj([], [])).toThrow(EnergyError);
  });
});

describe("CPU-time estimate", () => {
  test("µs × mW / 1000 = µJ", () => {
    expect(cpuTimeEnergyUj(2_000_000, 8_125)).toBe(16_250_000); // 2 s × 8.125 W = 16.25 J
    expect(cpuTimeEnergyUj(0, 8_125)).toBe(0);
    expect(cpuTimeEnergyUj(1, 499)).toBe(0); // 0.499 µJ rounds to 0
    expect(cpuTimeEnergyUj(1, 500)).toBe(1);
    expect(() => cpuTimeEnergyUj(-1, 1)).toThrow(EnergyError);
  });
  test("ujToMj rounds half up to integers", () => {
    expect([ujToMj(0), ujToMj(499), ujToMj(500), ujToMj(16_250_000)]).toEqual([0, 0, 1, 16_250]);
  });
  test("powerProfile divides a package power over the cores and says so", () => {
    expect(powerProfile(65, 8, "configured TDP")).toEqual({
      milliwattsPerCore: 8125,
      basis: "configured TDP 65 W / 8 cores",
    });
    expect(() => powerProfile(0, 8, "x")).toThrow(EnergyError);
    expect(() => powerProfile(65, 0, "x")).toThrow(EnergyError);
    expect(() => powerProfile(Number.POSITIVE_INFINITY, 2, "x")).toThrow(EnergyError);
  });
});
