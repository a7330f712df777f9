import { describe, expect, test } from "bun:test";
import { identityFromSecret } from "../identity/identity.ts";
import {
  attestationBytes,
  describeAttestation,
  energyAttestation,
  type EnergyBaseline,
  energyBaselineSchema,
  type EnergyRecord,
  signAttestation,
  verifyAttestation,
} from "./attestation.ts";
import { SOURCE_CPU_TIME, SOURCE_NONE, SOURCE_RAPL } from "./energy.ts";

const BLOCK = { height: 7, hash: "ab".repeat(32) };
const rapl = (tokens: number, mj: number): EnergyRecord => ({
  tokens,
  energy: { source: SOURCE_RAPL, mj, durationMs: 10, basis: "package zones intel-rapl:0" },
});
const cpu = (tokens: number, mj: number): EnergyRecord => ({
  tokens,
  energy: {
    source: SOURCE_CPU_TIME,
    mj,
    durationMs: 10,
    basis: "8.125 W/core (configured TDP 65 W / 8 cores)",
  },
});
const none = (tokens: number): EnergyRecord => ({
  tokens,
  energy: { source: SOURCE_NONE, mj: null, durationMs: 10, basis: "no readable RAPL counters" },
});
// A test-only baseline: its numbers are made up for the arithmetic and say so in their source.
const BASELINE: EnergyBaseline = {
  name: "test baseline",
  ujPerToken: 50_000,
  source: "unit test fixture",
};

describe("energyAttestation", () => {
  test("sums tokens and energy by source; mJ per token over records with a figure", () => {
    const a = energyAttestation(BLOCK, [rapl(100, 1_000), cpu(50, 500), none(25)]);
    expect(a).toEqual({
      version: 1,
      blockHeight: 7,
      blockHash: BLOCK.hash,
      tokens: 175,
      energyMj: 1_500,
      measuredMj: 1_000,
      estimatedMj: 500,
      unmeasuredTokens: 25,
      ujPerToken: 10_000, // 1500 mJ / 150 tokens = 10 mJ
      sources: [
        "estimated: cpu-time × W/core (8.125 W/core (configured TDP 65 W / 8 cores))",
        "measured: rapl (package zones intel-rapl:0)",
        "unavailable (no readable RAPL counters)",
      ],
      rating: null,
    });
  });
  test("a rating only with a stated baseline: baseline / ours in permille", () => {
    const a = energyAttestation(BLOCK, [rapl(100, 2_000)], BASELINE);
    expect(a.ujPerToken).toBe(20_000);
    expect(a.rating).toEqual({ baseline: BASELINE, ratioPermille: 2_500 });
    expect(describeAttestation(a)).toContain(
      'baseline "test baseline" (50.000 mJ/token, source: unit test fixture) uses 2.500×',
    );
    expect(describeAttestation(energyAttestation(BLOCK, [rapl(1, 1)]))).toContain(
      "no baseline configured, no rating",
    );
  });
  test("no energy figures: per token and rating are null, not zero", () => {
    const a = energyAttestation(BLOCK, [none(10)], BASELINE);
    expect([a.ujPerToken, a.rating, a.energyMj]).toEqual([null, null, 0]);
    expect(energyAttestation(BLOCK, []).ujPerToken).toBeNull();
  });
  test("a baseline without its source is refused", () => {
    expect(energyBaselineSchema.safeParse({ name: "GPU", ujPerToken: 1 }).success).toBe(false);
    expect(energyBaselineSchema.safeParse({ ...BASELINE, ujPerToken: 0.5 }).success).toBe(false);
    expect(energyBaselineSchema.parse(BASELINE)).toEqual(BASELINE);
  });
});

describe("signed attestation", () => {
  const me = identityFromSecret(new Uint8Array(32).fill(8));
  test("verifies; any changed figure breaks it", () => {
    const s = signAttestation(me, energyAttestation(BLOCK, [rapl(100, 2_000)], BASELINE));
    expect(verifyAttestation(s)).toBe(true);
    const changes = [
      { energyMj: 1_999 },
      { tokens: 101 },
      { blockHeight: 8 },
      { rating: { baseline: { ...BASELINE, source: "other" }, ratioPermille: 2_500 } },
      { sources: [] },
    ];
    for (const c of changes) {
      expect(verifyAttestation({ ...s, attestation: { ...s.attestation, ...c } })).toBe(false);
    }
    expect(verifyAttestation({ ...s, signature: "00" })).toBe(false);
  });
  test("canonical bytes: fixed order, flags for optional values", () => {
    const a = energyAttestation(BLOCK, [none(3)]);
    expect(new TextDecoder().decode(attestationBytes(a))).toBe(
      `aria:energy-attestation:v1\n[1,7,"${BLOCK.hash}",3,0,0,0,3,[0],` +
        `["unavailable (no readable RAPL counters)"],[0]]`,
    );
  });
});
