/**
 * @module The int8 output head (aria_model_requantize_output, `outputInt8`): a float head becomes
 * Q8_W at load, its logits stay close to the float head's (bounded error, same top token), and a
 * head it cannot convert is left as it was. The held-out perplexity change on the trained
 * aria-nano is in tests/nano.
 */
import { describe, expect, test } from "bun:test";
import { openModel } from "../../src/engine/index.ts";
import { testModel } from "../helpers/models.ts";

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

describe("outputInt8", () => {
  test("an F16 tied head becomes Q8_W and its logits stay within 1% of the logit range", async () => {
    const path = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
    using f16 = await openModel(path);
    using i8 = await openModel(path, { outputInt8: true });
    expect(f16.info.outputType).toBe("F16");
    expect(i8.info.outputType).toBe("Q8_W");
    using a = f16.createContext({ nCtx: 64, nThreads: 2 });
    using b = i8.createContext({ nCtx: 64, nThreads: 2 });
    const tokens = [1, 450, 7483, 310, 3444, 338, 29871, 13];
    a.decode(tokens, { logits: "all" });
    b.decode(tokens, { logits: "all" });
    for (let i = 0; i < tokens.length; i++) {
      const x = a.logits(i);
      const y = b.logits(i);
      let lo = Infinity;
      let hi = -Infinity;
      let diff = 0;
      for (let j = 0; j < x.length; j++) {
        lo = Math.min(lo, x[j]!);
        hi = Math.max(hi, x[j]!);
        diff = Math.max(diff, Math.abs(x[j]! - y[j]!));
      }
      expect(diff).toBeGreaterThan(0); // it really is another head
      expect(diff / (hi - lo)).toBeLessThan(0.01);
      expect(argmax(y)).toBe(argmax(x));
    }
  });

  test("a head that is not float (Q8_0) is left as it was", async () => {
    const path = await testModel({
      preset: "tiny",
      arch: "bitnet",
      type: "tq2_0",
      embdType: "q8_0",
    });
    using m = await openModel(path, { outputInt8: true });
    expect(m.info.outputType).toBe("Q8_0");
  });
});
