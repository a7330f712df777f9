/**
 * @module Shell of `aria peers` (asks a running node's API for its peer table) and `aria keys
 * show` (loads or makes this node's key and prints its id and path).
 */
import { defaultDataDir } from "../config/index.ts";
import { identityPath, loadOrCreateIdentity } from "../identity/index.ts";
import {
  formatNetworkSummary,
  formatPeerTable,
  type NetworkSummary,
  type peerTable,
} from "../p2p/index.ts";
import { AriaError } from "../shared/errors.ts";
import type { KeysCommand, PeersCommand } from "./peers-args.ts";

/**
 * Prints a running node's peer table.
 *
 * @param cmd URL, key, format.
 * @param print receives each line.
 * @throws {AriaError} PEERS_UNAVAILABLE when the node cannot be reached or has no peer network.
 */
export async function runPeers(cmd: PeersCommand, print: (line: string) => void): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${cmd.url}/v1/aria/peers`, {
      headers: cmd.apiKey !== undefined ? { authorization: `Bearer ${cmd.apiKey}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err: unknown) {
    // converted: a refused connection becomes a message naming the URL
    throw new AriaError(
      "PEERS_UNAVAILABLE",
      `Cannot reach ${cmd.url}: is aria serve running there? (${String(err)})`,
    );
  }
  if (!res.ok) {
    throw new AriaError(
      "PEERS_UNAVAILABLE",
      res.status === 404
        ? `Cannot read peers from ${cmd.url}: the node runs without the peer network (start it with --p2p-port or --peers)`
        : `Cannot read peers from ${cmd.url}: HTTP ${res.status}`,
    );
  }
  const table = await res.json() as ReturnType<typeof peerTable> & { network?: NetworkSummary };
  if (cmd.json) print(JSON.stringify(table));
  else {
    for (const line of formatPeerTable(table)) print(line);
    // a node of this version adds the network view; an older one does not
    if (table.network) { for (const line of formatNetworkSummary(table.network)) print(line); }
  }
}

/**
 * Prints this node's id and key file (making the key on first use).
 *
 * @param cmd data dir, format.
 * @param print receives each line.
 * @throws {AriaError} IDENTITY_INVALID when the key file is corrupt or readable by others.
 */
export function runKeys(cmd: KeysCommand, print: (line: string) => void): void {
  const dataDir = cmd.dataDir ?? defaultDataDir();
  const identity = loadOrCreateIdentity(dataDir);
  const keyFile = identityPath(dataDir);
  if (cmd.json) print(JSON.stringify({ nodeId: identity.nodeId, keyFile }));
  else {
    print(`node id  ${identity.nodeId}`);
    print(`key file ${keyFile}`);
  }
}
