/**
 * @module Every documented example of the `aria` command line runs, as a process, and exits 0:
 * the examples are read at test time from `aria help` and `aria help <command>` (for every
 * command the main help lists) and from the README's sh code blocks (lines that start with
 * `aria ` or `node_modules/.bin/bun src/main.ts `, with their `\` continuations and `&&` chains),
 * so a new example is covered without touching this file. Each help text or code block is one
 * scenario in a fresh working directory and a copy of a prepared data dir (ARIA_HOME): its
 * `serve` examples start in the background (the ports it names mapped to free ones, consistently
 * within the scenario, so a `--peers ws://…:7001` reaches the node started with `--p2p-port
 * 7001`) and stop on SIGTERM at its end with exit code 0 and no error line in their log; its
 * other examples (and the README's `curl`) run against them; an example that names a node its
 * scenario does not start (`aria peers --url http://127.0.0.1:8080`) gets one there (the built-in
 * model, the peer network on). The files the examples name are
 * made from generated test models (tests/helpers/models.ts): model.gguf, my-model.gguf, a small
 * Hugging Face checkpoint for `model convert`, a text for `perplexity`, a receipt of the prepared
 * ledger for `ledger verify-receipt` (and that answer with its messages for `verify`), and an installed file for each `model rm NAME`.
 * SKIPPED lists, with the reason, the examples that need the network or a large model; ADJUSTED
 * the ones run with a smaller workload (arguments appended, reason given); an example that is
 * neither runnable nor listed there fails the test.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findModel, installedFileName } from "../../src/model/registry.ts";
import { badLogLines, type ServeProc, startServe } from "../helpers/aria-serve.ts";
import { writeHfCheckpoint } from "../helpers/hf-checkpoint.ts";
import { testModel } from "../helpers/models.ts";

const ROOT = join(import.meta.dir, "..", "..");
const MAIN = join(ROOT, "src", "main.ts");
const BUN = process.execPath;

/** Examples not run, and why (matched against the example as documented). */
const SKIPPED: ReadonlyMap<string, string> = new Map([
  [
    "aria model pull aria-2b-1bit",
    "downloads 1.2 GB from huggingface.co (no network here); pulls are tested against a local hub in tests/model and tests/e2e/browser-serve.test.ts",
  ],
  [
    'aria run --model aria-2b-1bit --chat --prompt "Why is the sky blue?"',
    "needs the 1.2 GB bitnet-b1.58-2b-4t pulled from the network",
  ],
  ["aria serve --model aria-2b-1bit --port 8080", "needs the 1.2 GB model pulled from the network"],
  ["aria model info aria-2b-1bit", "needs the 1.2 GB model pulled from the network"],
  [
    'aria model pull aria-2b-1bit && aria run --model aria-2b-1bit --chat --prompt "Hi!"',
    "downloads 1.2 GB from huggingface.co (no network here)",
  ],
  [
    "aria peers",
    "asks the fixed default http://127.0.0.1:3000, a port other programs may hold on a shared machine; the --url form is run",
  ],
  [
    "aria serve --model model.gguf --layers 0-15 --p2p-port 9001",
    "serves layers 0-15: needs a model of 16+ layers (the smallest generated one, preset large, is ~270 MB); stages are tested in tests/p2p",
  ],
  [
    "aria serve --model model.gguf --pipeline --peers ws://127.0.0.1:9001",
    "needs the 16-layer stage of the example above; pipelines are tested in tests/p2p",
  ],
]);

/**
 * Examples run with extra arguments appended, and why: the command as documented, on less work.
 */
interface Adjustment {
  readonly append: readonly string[];
  readonly why: string;
}
const ADJUSTED: ReadonlyMap<string, Adjustment> = new Map<string, Adjustment>([
  ...[
    "aria bench --model model.gguf --threads 2 --json",
    "aria bench --model model.gguf --threads 2 --pp 128 --tg 64",
    "aria bench --model model.gguf --threads 2 --pp 128 --tg 64 --json",
  ].map((example): [string, Adjustment] => [example, {
    append: ["--reps", "1"],
    why: "five repetitions measure speed; one shows the command works (half a minute less)",
  }]),
  [
    "aria perplexity --file tests/fixtures/aria-nano/heldout.txt --ctx 256",
    {
      append: ["--chunks", "4"],
      why: "the whole held-out text is ~68,000 tokens: minutes on a shared 2-core machine",
    },
  ],
]);

/** One documented example: where it is written and its command line(s). */
interface Example {
  readonly source: string;
  /** As documented (the program spelled `aria`), for SKIPPED and the test names. */
  readonly text: string;
}

/** `aria help …` output, run as a process. */
function help(args: readonly string[]): string {
  const r = Bun.spawnSync([BUN, MAIN, "help", ...args], { cwd: ROOT, stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`aria help ${args.join(" ")} exited ${r.exitCode}`);
  return r.stdout.toString();
}

/** The "Example:" / "Examples:" lines of a help text, without trailing "(comments)". */
export function helpExamples(text: string): string[] {
  const out: string[] = [];
  let inExamples = false;
  for (const line of text.split("\n")) {
    if (/^Examples?:\s*$/.test(line)) inExamples = true;
    else if (inExamples && /^ {2}aria /.test(line)) {
      out.push(line.trim().replace(/\s{2,}\(.*\)$/, ""));
    } else if (line.trim() !== "") inExamples = false;
  }
  return out;
}

/** The commands of the main help's "Commands:" list. */
function commandsOf(mainHelp: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)\n\n/.exec(mainHelp)?.[1] ?? "";
  return [...new Set([...section.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!))];
}

/** README sh blocks: lines starting with `aria ` or `node_modules/.bin/bun src/main.ts `. */
export function readmeBlocks(readme: string): { heading: string; lines: string[] }[] {
  const blocks: { heading: string; lines: string[] }[] = [];
  let heading = "";
  for (const m of readme.matchAll(/^(#+ .*)$|^```sh\n([\s\S]*?)^```$/gm)) {
    if (m[1] !== undefined) {
      heading = m[1].replace(/^#+ /, "");
      continue;
    }
    const joined = m[2]!.replace(/\\\n\s*/g, "");
    const lines = logicalLines(joined).map((l) => l.trim())
      .map((l) => l.replaceAll("node_modules/.bin/bun src/main.ts ", "aria "))
      .filter((l) => l.startsWith("aria ") || l.startsWith("curl "));
    if (lines.length > 0) blocks.push({ heading, lines });
  }
  return blocks;
}

/**
 * Splits shell text into commands: a line break inside 'quotes' or "quotes" continues one; a `#`
 * outside quotes at a word's start begins a comment, dropped to the end of its line.
 */
export function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending: string | null = null;
  let quote = "";
  for (const line of text.split("\n")) {
    let kept = "";
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (quote === "" && ch === "#" && (i === 0 || /\s/.test(line[i - 1]!))) break;
      if (quote === "" && (ch === "'" || ch === '"')) quote = ch;
      else if (ch === quote) quote = "";
      kept += ch;
    }
    pending = pending === null ? kept : `${pending}\n${kept}`;
    if (quote === "") {
      out.push(pending);
      pending = null;
    }
  }
  if (pending !== null) out.push(pending); // an unclosed quote: kept, and the example fails
  return out;
}

/** Splits a command line into words: spaces, "double" and 'single' quotes (no escapes needed). */
export function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** Every documented example, grouped into scenarios (one help text, one README block). */
function scenarios(): { name: string; examples: Example[] }[] {
  const main = help([]);
  const out = [{ name: "aria help", examples: helpExamples(main) }];
  for (const cmd of commandsOf(main)) {
    out.push({ name: `aria help ${cmd}`, examples: helpExamples(help([cmd])) });
  }
  for (const b of readmeBlocks(readFileSync(join(ROOT, "README.md"), "utf8"))) {
    out.push({ name: `README "${b.heading}"`, examples: b.lines });
  }
  return out.filter((s) => s.examples.length > 0).map((s) => ({
    name: s.name,
    examples: s.examples.map((text) => ({ source: s.name, text })),
  }));
}

/** A free TCP port on loopback (bound, then released). */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** Rewrites one word: documented ports to this scenario's, /tmp/x data dirs into the scenario. */
function rewrite(word: string, ports: Map<string, string>, cwd: string): string {
  const port = (p: string) => {
    if (!ports.has(p)) ports.set(p, String(freePort()));
    return ports.get(p)!;
  };
  if (/^\d{4,5}$/.test(word)) return port(word);
  const rewritten = word.replace(/(127\.0\.0\.1|localhost):(\d+)/g, (_, h, p) => `${h}:${port(p)}`);
  if (/^\/tmp\/[a-z]+$/.test(rewritten)) return join(cwd, rewritten.slice("/tmp/".length));
  if (rewritten.startsWith("tests/")) return join(ROOT, rewritten);
  return rewritten;
}

let homeTemplate = "";
let filesTemplate = "";

beforeAll(async () => {
  homeTemplate = mkdtempSync(join(tmpdir(), "aria-cli-home-"));
  filesTemplate = mkdtempSync(join(tmpdir(), "aria-cli-files-"));
  const model = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
  cpSync(model, join(filesTemplate, "model.gguf"));
  cpSync(model, join(filesTemplate, "my-model.gguf"));
  writeHfCheckpoint(join(filesTemplate, "bitnet_b1_58-large"), {
    nEmbd: 256,
    nFf: 512,
    nLayer: 1,
    nHead: 4,
    nHeadKv: 4,
    nVocab: 300,
  });
  // a text of one 512-token chunk and a bit for `perplexity --ctx 512`
  const text = readFileSync(join(ROOT, "tests", "fixtures", "aria-nano", "heldout.txt"), "utf8");
  writeFileSync(join(filesTemplate, "wiki.test.raw"), text.slice(0, 4000));
  // a data dir with a ledger holding one answer, and that answer's receipt as receipt.json
  const node = await startServe(["--port", "0", "--data-dir", homeTemplate]);
  const res = await fetch(`${node.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "aria-nano",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 4,
    }),
  });
  const body = (await res.json()) as { provenance?: unknown };
  const stopped = await node.stop();
  expect(stopped.code).toBe(0);
  expect(body.provenance).toBeDefined();
  writeFileSync(join(filesTemplate, "receipt.json"), JSON.stringify(body.provenance));
  // for `aria verify`: the whole answer and the messages its client sent
  writeFileSync(join(filesTemplate, "answer.json"), JSON.stringify(body));
  writeFileSync(
    join(filesTemplate, "messages.json"),
    JSON.stringify([{ role: "user", content: "Hi" }]),
  );
}, 180_000);

/** For `aria model rm NAME`: the named registry model's file, installed by hand. */
function installForRm(argv: readonly string[], home: string): void {
  if (argv[0] !== "model" || argv[1] !== "rm" || argv[2] === undefined) return;
  const entry = findModel(argv[2]);
  if (entry === undefined) return;
  mkdirSync(join(home, "models"), { recursive: true });
  cpSync(join(filesTemplate, "model.gguf"), join(home, "models", installedFileName(entry)));
}

/** Runs one scenario's examples in order; serve examples stay up until the end. */
async function runScenario(examples: readonly Example[]): Promise<void> {
  const cwd = mkdtempSync(join(tmpdir(), "aria-cli-run-"));
  const home = join(cwd, ".aria-home");
  cpSync(filesTemplate, cwd, { recursive: true });
  cpSync(homeTemplate, home, { recursive: true });
  const env = { ...process.env, ARIA_HOME: home, NO_COLOR: "1" };
  const ports = new Map<string, string>();
  const servers: { text: string; proc: ServeProc }[] = [];
  /** Documented ports a node of this scenario listens on. */
  const serving = new Set<string>();
  try {
    for (const ex of examples) {
      if (SKIPPED.has(ex.text)) continue;
      for (const part of ex.text.split(" && ")) {
        const [program, ...rest] = words(part).map((w) => rewrite(w, ports, cwd));
        if (program === "aria" && rest[0] === "serve") {
          const at = words(part).indexOf("--port");
          if (at > 0) serving.add(words(part)[at + 1]!);
          servers.push({
            text: part,
            proc: await startServe(rest.slice(1), { ARIA_HOME: home }, cwd),
          });
          continue;
        }
        // an example that talks to a node its scenario does not start (aria peers --url …) gets
        // one: the built-in model with the peer network on, at the port the example names
        for (const m of part.matchAll(/127\.0\.0\.1:(\d+)/g)) {
          if (serving.has(m[1]!)) continue;
          serving.add(m[1]!);
          const args = ["--port", ports.get(m[1]!)!, "--p2p-port", "0", "--data-dir", home];
          servers.push({ text: `(node for) ${part}`, proc: await startServe(args, {}, cwd) });
        }
        installForRm(rest, home);
        const extra = ADJUSTED.get(part)?.append ?? [];
        const argv = program === "aria" ? [BUN, MAIN, ...rest, ...extra] : [program!, ...rest];
        const r = Bun.spawnSync(argv, { cwd, env, stdout: "pipe", stderr: "pipe" });
        const out = r.stdout.toString() + r.stderr.toString();
        expect({ example: part, code: r.exitCode, out: r.exitCode === 0 ? "" : out }).toEqual({
          example: part,
          code: 0,
          out: "",
        });
        if (program === "curl") {
          // curl exits 0 on an HTTP error too: the answer must be JSON without an error in it
          const answer = JSON.parse(r.stdout.toString()) as Record<string, unknown>;
          expect({ example: part, error: answer["error"] }).toEqual({
            example: part,
            error: undefined,
          });
          if (part.includes("/v1/chat/completions")) expect(answer["choices"]).toBeDefined();
        }
      }
    }
  } finally {
    for (const s of servers.reverse()) {
      const { code, stderr } = await s.proc.stop();
      expect({ example: s.text, code, log: badLogLines(stderr) }).toEqual({
        example: s.text,
        code: 0,
        log: [],
      });
    }
  }
}

test("the example reader: help sections, README continuations and comments, quotes over lines", () => {
  const helpText =
    "Usage: x\n\nExamples:\n  aria a --x 1        (a comment)\n  aria b\n\nMore:\n  aria c\n";
  expect(helpExamples(helpText)).toEqual(["aria a --x 1", "aria b"]);
  const readme =
    "# T\n## H\n```sh\nnode_modules/.bin/bun src/main.ts run \\\n    --x 1   # note\n" +
    "curl http://h -d '{\n  \"a\": 1}'\n# aria-nano: x\nbun other\n" +
    "aria keys show   # this node's id\n\n```\n";
  expect(readmeBlocks(readme)).toEqual([
    {
      heading: "H",
      lines: ["aria run --x 1", "curl http://h -d '{\n  \"a\": 1}'", "aria keys show"],
    },
  ]);
  expect(words(`curl -d '{\n "a": "b c"}' "x y" z`)).toEqual([
    "curl",
    "-d",
    '{\n "a": "b c"}',
    "x y",
    "z",
  ]);
});

describe("every documented example of the aria command line", () => {
  const all = scenarios();

  test("the examples are found: every command's help has some, the README's blocks too", () => {
    const names = all.map((s) => s.name);
    for (const cmd of ["run", "serve", "bench", "perplexity", "tokenize", "model", "ledger"]) {
      expect(names).toContain(`aria help ${cmd}`);
    }
    expect(names.filter((n) => n.startsWith("README")).length).toBeGreaterThanOrEqual(3);
    // every SKIPPED entry still names a documented example (none is stale)
    const documented = new Set(all.flatMap((s) => s.examples.map((e) => e.text)));
    const parts = new Set([...documented].flatMap((t) => t.split(" && ")));
    expect([...SKIPPED.keys()].filter((k) => !documented.has(k))).toEqual([]);
    expect([...ADJUSTED.keys()].filter((k) => !parts.has(k))).toEqual([]);
    for (const [example, why] of SKIPPED) console.warn(`skipped example: ${example}\n  (${why})`);
    for (const [example, a] of ADJUSTED) {
      console.warn(`example run with ${a.append.join(" ")} appended: ${example}\n  (${a.why})`);
    }
  });

  for (const s of all) {
    const runnable = s.examples.filter((e) => !SKIPPED.has(e.text));
    if (runnable.length === 0) continue;
    test(`${s.name}: ${runnable.map((e) => e.text).join(" ; ")}`, async () => {
      await runScenario(s.examples);
    }, 240_000);
  }
});
