/**
 * @module Real `aria serve` processes for the peer-network tests: each in its own data dir (its
 * own key), on free ports, stdout drained; killed and cleaned up by `close()`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = process.execPath;

/** The peer node's status line: listening at a ws:// address, or (--no-listen) dialling only. */
const PEER_LINE =
  /ARIA peer node (?:listening on (wss?:\/\/\S+)|not listening: dials out only) \(node ([0-9a-f]{64})\)/;

/** A running node. */
export interface Node {
  name: string;
  proc: ReturnType<typeof Bun.spawn>;
  api: string;
  ws: string;
  id: string;
}

/** Processes started by one test file. */
export class ProcessGroup {
  readonly home = mkdtempSync(join(tmpdir(), "aria-p2p-"));
  readonly nodes: Node[] = [];

  /**
   * Starts `aria serve --port 0 --parallel 2 --data-dir <home>/<name> ...args`.
   *
   * @param env extra environment for the child.
   */
  async serve(name: string, args: string[], env: Record<string, string> = {}): Promise<Node> {
    const { proc, reader, out } = await this.#spawn(
      name,
      args,
      env,
      (text) =>
        PEER_LINE.test(text) &&
        /ARIA listening on http:\/\/\S+/.test(text),
    );
    // a node started with --no-listen has no peer address: ws is ""
    const ws = PEER_LINE.exec(out)!;
    const api = /ARIA listening on (http:\/\/\S+)/.exec(out)!;
    const node = { name, proc, api: api[1]!, ws: ws[1] ?? "", id: ws[2]! };
    this.nodes.push(node);
    drain(reader);
    return node;
  }

  /**
   * Starts a pipeline stage: `aria serve --layers ... --p2p-port 0 ...args`, waiting for its peer
   * node and its loopback /stage lines. `api` is the loopback stage URL (GET /stage: sessions).
   */
  async stage(name: string, args: string[]): Promise<Node> {
    const { proc, reader, out } = await this.#spawn(
      name,
      ["--p2p-port", "0", ...args],
      {},
      (text) => /ARIA stage listening on http:\/\/\S+\/stage/.test(text),
    );
    const ws = /ARIA peer node listening on (wss?:\/\/\S+) \(node ([0-9a-f]{64})\)/.exec(out);
    const api = /ARIA stage listening on (http:\/\/\S+)\/stage/.exec(out)!;
    if (!ws) throw new Error(`Stage ${name} did not join the peer network: ${out}`);
    const node = { name, proc, api: api[1]!, ws: ws[1]!, id: ws[2]! };
    this.nodes.push(node);
    drain(reader);
    return node;
  }

  async #spawn(
    name: string,
    args: string[],
    env: Record<string, string>,
    ready: (out: string) => boolean,
  ) {
    const proc = Bun.spawn(
      [
        BUN,
        "src/main.ts",
        "serve",
        "--port",
        "0",
        "--parallel",
        "2",
        "--data-dir",
        join(this.home, name),
        ...args,
      ],
      {
        cwd: ROOT,
        stdout: "pipe",
        stderr: process.env["P2P_TEST_STDERR"] ? "inherit" : "ignore",
        env: { ...process.env, ...env },
      },
    );
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let out = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`aria serve ${name} exited before listening: ${out}`);
      out += new TextDecoder().decode(value);
      if (ready(out)) return { proc, reader, out };
    }
  }

  /** Kills every node and removes the data dirs. */
  close(): void {
    for (const n of this.nodes) n.proc.kill(9);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** Keeps draining stdout so the child never blocks on a full pipe. */
function drain(reader: ReadableStreamDefaultReader<Uint8Array>): void {
  (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
}

/** What /v1/aria/peers returns (the fields the tests read). */
export interface PeersJson {
  self: string;
  peers: {
    id: string;
    ok: number;
    url: string | null;
    models: { id: string; sha256?: string; layers?: [number, number] | null }[];
  }[];
  refused: Record<string, number>;
}

/** A node's peer table. */
export async function peers(n: Node): Promise<PeersJson> {
  return await (await fetch(`${n.api}/v1/aria/peers`)).json() as PeersJson;
}

/** Polls until `check` passes (processes need real time to connect). */
export async function until(
  check: () => Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await check()) return;
    await Bun.sleep(100);
  }
  throw new Error(`Timed out waiting for ${what}`);
}
