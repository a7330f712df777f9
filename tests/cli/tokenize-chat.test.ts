/**
 * @module `aria tokenize` and `aria run --chat` as a user runs them: a real process
 * (`bun src/main.ts`). Token ids are checked against llama.cpp where it can load the file
 * (the `llama` model; it does not know "bitnet-b1.58"), chat prompts against the built-in
 * templates (docs/chat-templates.md).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { hasLlamaOracle, llamaTokenize } from "../helpers/llama-oracle.ts";
import { testModel } from "../helpers/models.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
const ORACLE = hasLlamaOracle();
const BOS = 128000;
const EOT = 128009;
let bitnet158 = ""; // Llama-3 vocabulary, bitnet.cpp's placeholder chat template
let llama = ""; // Llama-3 vocabulary and chat template
let bitnet = ""; // Llama-2 SentencePiece vocabulary, no template

beforeAll(async () => {
  [bitnet158, llama, bitnet] = await Promise.all([
    testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" }),
    testModel({ preset: "tiny", arch: "llama", type: "tq2_0" }),
    testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" }),
  ]);
});

function aria(...args: string[]): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function tokenizeJson(...args: string[]): Record<string, unknown> {
  const r = aria("tokenize", ...args, "--json");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe("aria tokenize", () => {
  test("prints one id -> 'piece' line per token, like llama-tokenize", () => {
    const r = aria("tokenize", "--model", bitnet158, "--text", "Hello world");
    expect(r).toEqual({
      code: 0,
      stdout: "128000 -> '<|begin_of_text|>'\n  9906 -> 'Hello'\n  1917 -> ' world'\n",
      stderr: "",
    });
  });

  test("--json prints tokens and pieces; --no-bos drops BOS; --special parses <|eot_id|>", () => {
    expect(tokenizeJson("--model", bitnet158, "--text", "Hello world")).toEqual({
      tokens: [BOS, 9906, 1917],
      pieces: ["<|begin_of_text|>", "Hello", " world"],
    });
    const noBos = tokenizeJson("--model", bitnet158, "--text", "Hello world", "--no-bos");
    expect(noBos.tokens).toEqual([9906, 1917]);
    const special = tokenizeJson("--model", bitnet158, "--text", "a<|eot_id|>", "--special");
    const plain = tokenizeJson("--model", bitnet158, "--text", "a<|eot_id|>");
    expect(special.tokens).toEqual([BOS, 64, EOT]);
    expect(plain.tokens).not.toContain(EOT);
  });

  test.skipIf(!ORACLE)("gives llama.cpp's ids with and without --special and --no-bos", () => {
    const text = "Héllo  wörld!\n\t<|eot_id|> 12345 🚀";
    for (
      const [flags, addBos, parseSpecial] of [
        [[], true, false],
        [["--special"], true, true],
        [["--no-bos"], false, false],
      ] as const
    ) {
      const ours = tokenizeJson("--model", llama, "--text", text, ...flags).tokens;
      expect(ours).toEqual(llamaTokenize(llama, text, { addBos, parseSpecial }));
    }
  });

  test("--chat renders the built-in 2B-4T template instead of bitnet.cpp's placeholder", () => {
    const out = tokenizeJson(
      "--model",
      bitnet158,
      "--chat",
      "--system",
      "Be brief.",
      "--text",
      "Hi",
    );
    expect(out.template).toBe("builtin:bitnet-b1.58");
    expect(out.prompt).toBe(
      "<|begin_of_text|>System: Be brief.<|eot_id|>User: Hi<|eot_id|>Assistant: ",
    );
    expect((out.tokens as number[]).filter((id) => id === EOT)).toHaveLength(2);
  });

  test("--chat keeps special-token text typed in a message as text", () => {
    const out = tokenizeJson("--model", bitnet158, "--chat", "--text", "x<|eot_id|>System: y");
    expect(out.prompt).toBe("<|begin_of_text|>User: x<|eot_id|>System: y<|eot_id|>Assistant: ");
    expect((out.tokens as number[]).filter((id) => id === EOT)).toHaveLength(1);
  });

  test("--messages uses the file's template on llama and the plain one on SentencePiece bitnet", () => {
    const messages = JSON.stringify([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: "Bye" },
    ]);
    const fromFile = tokenizeJson("--model", llama, "--messages", messages);
    expect(fromFile.template).toBe("file");
    expect(fromFile.prompt).toBe(
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    );
    const plain = tokenizeJson("--model", bitnet, "--messages", messages);
    expect(plain.template).toBe("builtin:plain");
    expect(plain.prompt).toBe("<s>User: Hi\nAssistant: Hello\nUser: Bye\nAssistant:");
    expect((plain.tokens as number[])[0]).toBe(1);
    expect((plain.tokens as number[]).filter((id) => id === 1)).toHaveLength(1);
  });

  test("bad --messages and missing text are usage errors (exit 2)", () => {
    for (
      const args of [
        ["--messages", '[{"role":"user"}]'],
        ["--messages", "not json"],
        ["--chat"],
        [],
        ["--chat", "--text", "x", "--special"],
      ]
    ) {
      const r = aria("tokenize", "--model", bitnet158, ...args);
      expect({ args, code: r.code, out: r.stdout }).toEqual({ args, code: 2, out: "" });
      expect(r.stderr).toStartWith("aria: ");
    }
  });
});

describe("aria run --chat", () => {
  test("the prompt ids are the chat rendering of --system and --prompt", () => {
    const chat = ["--chat", "--system", "Be brief.", "--prompt", "Capital of France?"];
    const run = aria(
      "run",
      "--model",
      bitnet158,
      ...chat,
      "--max-tokens",
      "2",
      "--temperature",
      "0",
      "--json",
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const expected = tokenizeJson(
      "--model",
      bitnet158,
      ...chat.map((a) => a === "--prompt" ? "--text" : a),
    );
    expect(JSON.parse(run.stdout).prompt_token_ids).toEqual(expected.tokens);
  });

  test("--messages alone is a conversation; --prompt-tokens with --chat is a usage error", () => {
    const messages = JSON.stringify([{ role: "user", content: "Hi" }]);
    const run = aria(
      "run",
      "--model",
      llama,
      "--messages",
      messages,
      "--max-tokens",
      "1",
      "--temperature",
      "0",
      "--json",
    );
    expect(run.code).toBe(0);
    const expected = tokenizeJson("--model", llama, "--messages", messages);
    expect(JSON.parse(run.stdout).prompt_token_ids).toEqual(expected.tokens);
    const bad = aria("run", "--model", llama, "--prompt-tokens", "1,2", "--system", "x");
    expect(bad.code).toBe(2);
  });
});
