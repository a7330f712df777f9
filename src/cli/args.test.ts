import { describe, expect, test } from "bun:test";
import { DEFAULT_MODEL, parseCommand, UsageError } from "./args.ts";

describe("parseCommand()", () => {
  test("parses aria run with defaults", () => {
    expect(parseCommand(["run", "--model", "m.gguf", "--prompt", "Hi"])).toEqual({
      verb: "run",
      model: "m.gguf",
      outputHead: "int8",
      repack: true,
      prompt: "Hi",
      maxTokens: 128,
      temperature: 0.8,
      topK: 40,
      topP: 0.95,
      minP: 0.05,
      seed: 0,
      stop: [],
      repeatPenalty: 1,
      repeatLastN: 64,
      frequencyPenalty: 0,
      presencePenalty: 0,
      logitBias: new Map(),
      json: false,
    });
  });

  test("parseCommand() collects repeated --stop and --logit-bias, penalties and --logprobs", () => {
    const cmd = parseCommand([
      "run",
      "-m",
      "m.gguf",
      "-p",
      "Hi",
      "--stop",
      "\n\n",
      "--stop",
      "User:",
      "--repeat-penalty",
      "1.1",
      "--repeat-last-n=-1",
      "--frequency-penalty",
      "0.5",
      "--presence-penalty=-0.25",
      "--logit-bias=13=-100",
      "--logit-bias",
      "42=2.5",
      "--logprobs",
      "5",
    ]);
    expect(cmd).toMatchObject({
      stop: ["\n\n", "User:"],
      repeatPenalty: 1.1,
      repeatLastN: -1,
      frequencyPenalty: 0.5,
      presencePenalty: -0.25,
      logitBias: new Map([[13, -100], [42, 2.5]]),
      logprobs: 5,
    });
  });

  test("parses token-id prompts, sampling options and --json", () => {
    const cmd = parseCommand([
      "run",
      "-m",
      "m.gguf",
      "--prompt-tokens",
      "1, 2,3",
      "--temperature",
      "0",
      "--seed",
      "7",
      "--threads",
      "2",
      "--json",
    ]);
    expect(cmd).toMatchObject({
      promptTokens: [1, 2, 3],
      temperature: 0,
      seed: 7,
      threads: 2,
      json: true,
    });
  });

  test("parses aria bench", () => {
    expect(parseCommand(["bench", "--model", "m.gguf", "--pp", "64", "--tg", "0", "--json"]))
      .toEqual({
        verb: "bench",
        model: "m.gguf",
        outputHead: "int8",
        repack: true,
        pp: 64,
        tg: 0,
        seqs: 1,
        depth: 0,
        kvType: "f32",
        reps: 5,
        json: true,
      });
    expect(parseCommand(["bench", "--depth", "512", "--kv-type", "f16"])).toMatchObject({
      depth: 512,
      kvType: "f16",
    });
    expect(() => parseCommand(["bench", "--kv-type", "q8"])).toThrow(
      /--kv-type "q8": expected f32 or f16/,
    );
  });

  test("--no-repack keeps TQ1_0 as it is in run, bench, perplexity and serve", () => {
    expect(parseCommand(["run", "--prompt", "x", "--no-repack"])).toMatchObject({ repack: false });
    expect(parseCommand(["bench", "--no-repack"])).toMatchObject({ repack: false });
    expect(parseCommand(["perplexity", "--file", "t.txt", "--no-repack"])).toMatchObject({
      repack: false,
    });
    expect(parseCommand(["perplexity", "--file", "t.txt"])).toMatchObject({ repack: true });
    expect(parseCommand(["serve", "--no-repack"])).toEqual({
      verb: "serve",
      flags: { repack: "false" },
    });
    expect(parseCommand(["serve"])).toEqual({ verb: "serve", flags: {} });
    expect(() => parseCommand(["bench", "--no-repack=yes"])).toThrow(UsageError);
  });

  test("--output-head takes float, int8 or int4 in run, bench, perplexity and serve", () => {
    expect(parseCommand(["bench", "--output-head", "int4"])).toMatchObject({ outputHead: "int4" });
    expect(parseCommand(["run", "--prompt", "x", "--output-head", "int4"])).toMatchObject({
      outputHead: "int4",
    });
    expect(parseCommand(["perplexity", "--file", "t.txt", "--output-head", "float"]))
      .toMatchObject({ outputHead: "float" });
    expect(parseCommand(["perplexity", "--file", "t.txt"])).toMatchObject({ outputHead: "int8" });
    expect(parseCommand(["serve", "--output-head", "int4"])).toEqual({
      verb: "serve",
      flags: { outputHead: "int4" },
    });
    expect(() => parseCommand(["bench", "--output-head", "int2"])).toThrow(
      /--output-head "int2": expected float, int8 or int4/,
    );
  });

  test("answers help for no verb, help and --help", () => {
    expect(parseCommand([])).toEqual({ verb: "help" });
    expect(parseCommand(["help", "run"])).toEqual({ verb: "help", topic: "run" });
    expect(parseCommand(["run", "--help"])).toEqual({ verb: "help", topic: "run" });
  });

  test("--model defaults to the built-in model's name", () => {
    expect(parseCommand(["run", "--prompt", "x"])).toMatchObject({ model: DEFAULT_MODEL });
    expect(parseCommand(["perplexity", "--file", "t.txt", "--chunks", "3"])).toMatchObject({
      verb: "perplexity",
      model: DEFAULT_MODEL,
      file: "t.txt",
      chunks: 3,
      json: false,
    });
  });

  test("throws UsageError for bad input", () => {
    const bad = [
      ["frobnicate"],
      ["run", "--model", "m"],
      ["perplexity", "--model", "m"],
      ["perplexity", "--file", "t.txt", "--ctx", "2"],
      ["run", "--model", "m", "--prompt", "x", "--max-tokens", "-1"],
      ["run", "--model", "m", "--prompt", "x", "--temperature", "hot"],
      ["run", "--model", "m", "--prompt-tokens", "1,x"],
      ["run", "--model", "m", "--prompt", "x", "--bogus"],
      ["run", "--model", "m", "--prompt", "x", "--repeat-penalty", "0"],
      ["run", "--model", "m", "--prompt", "x", "--repeat-last-n=-2"],
      ["run", "--model", "m", "--prompt", "x", "--frequency-penalty", "3"],
      ["run", "--model", "m", "--prompt", "x", "--presence-penalty", "x"],
      ["run", "--model", "m", "--prompt", "x", "--logit-bias", "13"],
      ["run", "--model", "m", "--prompt", "x", "--logit-bias", "13=-101"],
      ["run", "--model", "m", "--prompt", "x", "--logit-bias", "-1=5"],
      ["run", "--model", "m", "--prompt", "x", "--logprobs", "21"],
      ["bench", "--model", "m", "--reps", "0"],
      ["bench", "--output-head", "q4"],
    ];
    for (const argv of bad) expect(() => parseCommand(argv)).toThrow(UsageError);
  });
});
