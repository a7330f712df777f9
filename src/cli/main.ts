/**
 * @module The CLI shell: parses argv, runs the verb, prints, and maps errors to exit codes.
 * Exit codes: 0 ok, 1 runtime failure (bad model file, download or hash failure, engine error),
 * 2 usage error (also listed in `aria --help` and the README's CLI section).
 */
import { VERSION } from "../shared/version.ts";
import { GgufFormatError, resolveModelPath } from "../model/index.ts";
import { systemClock } from "../shared/clock.ts";
import { AriaError } from "../shared/errors.ts";
import { parseCommand, USAGE, UsageError } from "./args.ts";
// Each verb's module is imported when that verb runs, not up front: the modules of every verb
// (hono, the ledger, the P2P node, …) held about 14 MiB more in every process, `aria bench`
// included (benchmarks/METHODOLOGY.md, "Peak RSS"); the config module (zod, 10 MiB) is loaded
// only where a verb needs the data directory.

/** Version of this build. */
export { VERSION } from "../shared/version.ts";

/**
 * Runs one command line.
 *
 * @param argv arguments after the program name.
 * @returns the process exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const cmd = parseCommand(argv);
    const config = () => import("../config/index.ts");
    if ("model" in cmd) {
      cmd.model = await resolveModelPath(cmd.model, async () => (await config()).defaultDataDir());
    }
    switch (cmd.verb) {
      case "help":
        console.log(USAGE[cmd.topic ?? "main"] ?? USAGE.main);
        return cmd.topic === undefined || USAGE[cmd.topic] ? 0 : 2;
      case "version":
        console.log(`aria ${VERSION}`);
        return 0;
      case "bench": {
        const { formatBench, runBench } = await import("./bench.ts");
        const r = await runBench(cmd);
        console.log(cmd.json ? JSON.stringify(r) : formatBench(r));
        return 0;
      }
      case "run": {
        const { runGenerate } = await import("./run.ts");
        await runGenerate(cmd, (s) => process.stdout.write(s));
        return 0;
      }
      case "serve": {
        const { runServe } = await import("./serve.ts");
        return await runServe(cmd, (line) => console.log(line));
      }
      case "consent": {
        const { runConsent } = await import("./consent.ts");
        const { recordConsentChange } = await import("../node/index.ts");
        const { defaultDataDir, editorCommand } = await config();
        return runConsent(cmd, {
          dataDir: defaultDataDir(),
          editor: editorCommand(),
          print: (line) => console.log(line),
          nowMs: systemClock.nowMs,
          // each change goes into the node's ledger (src/node/policy-ledger.ts)
          onChange: (event) => {
            const hash = recordConsentChange(cmd.dataDir ?? defaultDataDir(), event, (entry) => {
              if (entry.level === "error") console.error(`aria: ${entry.msg}: ${entry.error}`);
            });
            if (hash !== undefined) console.error(`Recorded in the ledger as record ${hash}`);
          },
        });
      }
      case "peers": {
        const { runPeers } = await import("./peers.ts");
        await runPeers(cmd, (line) => console.log(line));
        return 0;
      }
      case "keys": {
        const { runKeys } = await import("./peers.ts");
        runKeys(cmd, (line) => console.log(line));
        return 0;
      }
      case "perplexity": {
        const { formatPerplexity, runPerplexity } = await import("./perplexity.ts");
        const r = await runPerplexity(cmd, (s) => process.stderr.write(s));
        console.log(cmd.json ? JSON.stringify(r) : formatPerplexity(r));
        return 0;
      }
      case "model": {
        const { runModel } = await import("./model.ts");
        const { defaultDataDir } = await config();
        return await runModel(cmd, {
          out: (line) => console.log(line),
          err: (text) => process.stderr.write(text),
          tty: process.stderr.isTTY === true,
          dataDir: defaultDataDir(),
        });
      }
      case "ledger": {
        const { runLedger } = await import("./ledger.ts");
        return runLedger(cmd, { out: (line) => console.log(line) });
      }
      case "verify": {
        const { runVerify } = await import("./verify.ts");
        return await runVerify(cmd, (line) => console.log(line));
      }
      case "tokenize": {
        const { formatTokenize, runTokenize } = await import("./tokenize.ts");
        const r = runTokenize(cmd);
        console.log(cmd.json ? JSON.stringify(r) : formatTokenize(r));
        return 0;
      }
    }
  } catch (err: unknown) {
    // terminated: every error ends here as a message on stderr and an exit code
    // usage errors of any verb's parser (args.ts, model-args.ts, …) carry the code USAGE
    if (err instanceof UsageError || (err instanceof AriaError && err.code === "USAGE")) {
      console.error(`aria: ${err.message}`);
      return 2;
    }
    if (err instanceof AriaError || err instanceof GgufFormatError || err instanceof RangeError) {
      console.error(`aria: ${err.message}`);
      return 1;
    }
    if (err instanceof Error && "code" in err && typeof err.code === "string" && "path" in err) {
      console.error(`aria: Cannot open "${String(err.path)}": ${err.code}`);
      return 1;
    }
    console.error("aria: unexpected error:", err);
    return 1;
  }
}
