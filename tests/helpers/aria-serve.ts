/**
 * @module For end-to-end tests: an `aria serve` child process started as the README says
 * (`bun src/main.ts serve …`, here with `--port 0` and a data dir of the test's own), its
 * printed URLs, and its log (stderr, one JSON object a line) checked when it stops.
 */
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

/** A running `aria serve`. */
export interface ServeProc {
  /** The API and dashboard URL (`ARIA listening on …`). */
  readonly url: string;
  /** The peer port's ws:// URL when the peer network is on (`ARIA peer node listening on …`). */
  readonly p2pUrl: string | null;
  /** This node's id as it printed it. */
  readonly nodeId: string;
  /** What it printed on stdout so far. */
  stdout(): string;
  /**
   * Sends SIGTERM and waits for the exit.
   *
   * @returns the exit code and the whole stderr.
   */
  stop(): Promise<{ code: number; stderr: string }>;
}

/**
 * Starts `bun src/main.ts serve ARGS` and waits until it listens.
 *
 * @param args the serve options (give `--port 0` and a `--data-dir`).
 * @param env extra environment (e.g. HF_ENDPOINT).
 * @param cwd the working directory (default: the checkout), for relative paths in `args`.
 * @returns the running process.
 * @throws {Error} with everything it printed, when it exits before listening or takes over 60 s.
 */
export async function startServe(
  args: readonly string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Promise<ServeProc> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src", "main.ts"), "serve", ...args], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const stderr = new Response(proc.stderr).text();
  let out = "";
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  // drained to the end, so the child never blocks on a full pipe
  const drained = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      out += decoder.decode(chunk, { stream: true });
      if (out.includes("ARIA dashboard: ")) listening();
    }
  })();
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000));
  const first = await Promise.race([ready.then(() => "ready" as const), proc.exited, timeout]);
  if (first !== "ready") {
    proc.kill();
    throw new Error(`aria serve ${args.join(" ")} did not start (${first}): ${out}${await stderr}`);
  }
  const api = /ARIA listening on (http:\/\/\S+) \(backend \S+, node ([0-9a-f]{64})\)/.exec(out);
  if (!api) throw new Error(`aria serve printed no listening line: ${out}`);
  const p2p = /ARIA peer node listening on (wss?:\/\/\S+)/.exec(out);
  return {
    url: api[1]!,
    p2pUrl: p2p?.[1] ?? null,
    nodeId: api[2]!,
    stdout: () => out,
    async stop() {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      await drained;
      return { code, stderr: await stderr };
    },
  };
}

/**
 * The log lines that are not well-formed info/warn records: a line that is not one JSON
 * object, or whose `level` is "error" (or anything but info, warn, debug).
 *
 * @param stderr the process's whole stderr.
 * @returns the offending lines (empty when the log is clean).
 */
export function badLogLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => {
    if (line.trim() === "") return false;
    try {
      const rec = JSON.parse(line) as { level?: unknown };
      return !["debug", "info", "warn"].includes(String(rec.level));
    } catch {
      // terminated: a line that is not JSON is itself a finding (a stack trace, a stray print)
      return true;
    }
  });
}
