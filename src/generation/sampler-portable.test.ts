import { describe, expect, test } from "bun:test";
import { join } from "node:path";

// Seeded sampling is a pure function of the logits, the settings and the seed: the same tokens and
// the same logprobs (bit for bit) under JavaScriptCore (bun) and V8 (deno). Before the sampler used
// portable-math.ts, it called Math.exp / Math.log, which ECMAScript leaves to each engine.
const script = (dir: string) => `
  import { createSampler, tokenLogprobs } from ${JSON.stringify(join(dir, "sampler.ts"))};
  import { createRng } from ${JSON.stringify(join(dir, "rng.ts"))};
  const settings = [
    { temperature: 0.9, topP: 0.95, repeatPenalty: 1.1 },
    { temperature: 0.7, minP: 0.05, frequencyPenalty: 0.3, presencePenalty: 0.2 },
    { temperature: 1.3, topK: 40, topP: 0.9 },
    { temperature: 1 },
  ];
  const V = 4096;
  const logits = new Float32Array(V);
  let s = 7;
  const out = [];
  for (const [n, o] of settings.entries()) {
    const sampler = createSampler(o, createRng(1000 + n));
    for (let step = 0; step < 150; step++) {
      for (let i = 0; i < V; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        // a peaked, model-like spread: a few strong candidates, a long tail
        logits[i] = ((s >>> 8) / 16777216) * 12 - (i % 97 === step % 97 ? 0 : 6);
      }
      // every other step constrained (a grammar's walk, sampleAllowed): the same pure function
      const allowed = step % 2 === 1 ? sampler.sampleAllowed(logits, (t) => t % 3 !== 0) : null;
      const token = allowed ?? sampler.sample(logits);
      sampler.accept(token);
      const lp = tokenLogprobs(logits, token, 3);
      out.push(token, lp.logprob, ...lp.topLogprobs.flatMap((t) => [t.token, t.logprob]));
    }
  }
  const bytes = new Uint8Array(Float64Array.from(out).buffer);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  console.log(Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""));
`;

async function run(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const out = (await new Response(p.stdout).text()).trim();
  const err = await new Response(p.stderr).text();
  expect({ code: await p.exited, err }).toEqual({ code: 0, err: "" });
  return out;
}

describe("seeded sampling across JavaScript engines", () => {
  test("the sampler calls no engine-defined Math.exp / Math.log (portable-math.ts instead)", async () => {
    const code = (await Bun.file(join(import.meta.dir, "sampler.ts")).text())
      .split("\n")
      .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line))
      .join("\n");
    expect(code.match(/Math\.(exp|log|pow|expm1|log1p)\(/g) ?? []).toEqual([]);
  });

  test("the same tokens and logprobs, bit for bit, in bun and deno", async () => {
    const file = join(import.meta.dir, `../../.sampler-portable-${process.pid}.ts`);
    await Bun.write(file, script(import.meta.dir));
    try {
      const inBun = await run([process.execPath, "run", file]);
      const again = await run([process.execPath, "run", file]);
      const deno = join(import.meta.dir, "../../node_modules/.bin/deno");
      const inDeno = await run([deno, "run", "--quiet", "--no-config", file]);
      expect(inBun).toMatch(/^[0-9a-f]{64}$/);
      expect(again).toBe(inBun);
      expect(inDeno).toBe(inBun);
    } finally {
      await Bun.file(file).delete();
    }
  }, 60_000);
});
