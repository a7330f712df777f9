/**
 * @module `npm start` until `aria serve` exists: makes sure a demo model is there (a generated
 * `small` bitnet-b1.58 model in TQ2_0 with the Llama-3 vocabulary, random weights — so the
 * text is noise, but every step is the real engine), then runs `aria run` on it and `aria bench`.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.ts";
import { makeModel } from "./make-model.ts";

const dir = join(import.meta.dir, "..", "models");
const path = join(dir, "demo-small-bitnet-b1.58-tq2_0.gguf");
if (!existsSync(path)) {
  mkdirSync(dir, { recursive: true });
  console.log(`Generating a demo model (random ternary weights) at ${path} …`);
  await makeModel({ preset: "small", arch: "bitnet-b1.58", type: "tq2_0", out: path });
}
console.log(`\n$ aria run --model ${path} --prompt "The capital of France is" --max-tokens 32`);
let code = await main([
  "run",
  "--model",
  path,
  "--prompt",
  "The capital of France is",
  "--max-tokens",
  "32",
]);
if (code === 0) {
  console.log(`\n$ aria bench --model ${path} --reps 3`);
  code = await main(["bench", "--model", path, "--reps", "3"]);
}
process.exitCode = code;
