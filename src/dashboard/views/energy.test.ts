import { describe, expect, test } from "bun:test";
import { clockLabel, energyLive, energyPage, sourceText } from "./energy.ts";

describe("energy view", () => {
  test("two charts from the series, polling every 5 s", async () => {
    const out = String(
      await energyPage([
        { timeMs: 0, tokensPerSecond: 10, mjPerToken: 50, source: "measured" },
        { timeMs: 60_000, tokensPerSecond: 20, mjPerToken: 25, source: "measured" },
      ]),
    );
    expect(out).toContain('hx-get="/energy" hx-trigger="every 5s"');
    expect(out.match(/<svg class="chart"/g)?.length).toBe(2);
    expect(out).toContain("<title>tokens per second (tokens/s)</title>");
    expect(out).toContain("<title>energy per token (mJ/token)</title>");
    expect(out).toContain(">00:01:00</text>");
    expect(out).toContain("last 20.0");
    expect(out).toContain("last 25.0");
    expect(out).toContain('<strong data-field="energy-source">measured (2 samples)</strong>');
  });

  test("says where the energy figures come from; samples without one are left out", async () => {
    const m = { timeMs: 1, tokensPerSecond: 5, mjPerToken: 4, source: "measured" } as const;
    const e = { ...m, source: "estimated" } as const;
    const none = { ...e, mjPerToken: null };
    expect(sourceText([])).toBe("none yet (no sample carries an energy figure)");
    expect(sourceText([none])).toBe("none yet (no sample carries an energy figure)");
    expect(sourceText([m])).toBe("measured (1 sample)");
    expect(sourceText([e, e, none])).toBe("estimated (2 samples)");
    expect(sourceText([m, e, e])).toBe("mixed: 1 measured, 2 estimated");
    // a sample without energy still has its tokens/s; its mJ/token is not drawn as 0
    const out = String(await energyLive([{ ...none, tokensPerSecond: 7 }]));
    expect(out).toContain("last 7.0");
    expect(out).toContain("No energy per token samples yet.");
  });

  test("no samples yet", async () => {
    expect(String(await energyLive([]))).toContain("No tokens per second samples yet.");
    expect(clockLabel(NaN)).toBe("");
  });
});
