import { describe, expect, test } from "bun:test";
import { clockLabel, energyLive, energyPage } from "./energy.ts";

describe("energy view", () => {
  test("two charts from the series, polling every 5 s", async () => {
    const out = String(
      await energyPage([
        { timeMs: 0, tokensPerSecond: 10, mjPerToken: 50 },
        { timeMs: 60_000, tokensPerSecond: 20, mjPerToken: 25 },
      ]),
    );
    expect(out).toContain('hx-get="/energy" hx-trigger="every 5s"');
    expect(out.match(/<svg class="chart"/g)?.length).toBe(2);
    expect(out).toContain("<title>tokens per second (tokens/s)</title>");
    expect(out).toContain("<title>energy per token (mJ/token)</title>");
    expect(out).toContain(">00:01:00</text>");
    expect(out).toContain("last 20.0");
    expect(out).toContain("last 25.0");
  });

  test("no samples yet", async () => {
    expect(String(await energyLive([]))).toContain("No tokens per second samples yet.");
    expect(clockLabel(NaN)).toBe("");
  });
});
