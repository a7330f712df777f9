/**
 * @module Shell: starts the peer network next to `aria serve` — the node (src/p2p) on the peer
 * port with this node's ed25519 identity, the planner's tick every second, the router in front of
 * the local backend, and the /v1/aria/peers route. Hashes the model file (SHA-256) in the
 * background for the advert.
 */
import { checkRelayedReceipt } from "../ledger/index.ts";
import { join } from "node:path";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import type { Hono } from "hono";
import type { CompletionBackend } from "../contract/index.ts";
import type { ServeConfig } from "../config/index.ts";
import {
  identityFromSecret,
  newSecretKey,
  type NodeIdentity,
  verifySignature,
} from "../identity/index.ts";
import {
  advertFromBackend,
  bunTransport,
  DEFAULT_PLAN,
  meteredBackend,
  Overlay,
  P2PNode,
  PeerBackend,
  type PeerConsent,
  type PeerProvenance,
  peersRoute,
  type RelayPolicy,
  serveFromBackend,
} from "../p2p/index.ts";
import { systemClock } from "../shared/clock.ts";
import { AriaError } from "../shared/errors.ts";
import { logJson } from "../shared/log.ts";
import {
  type AddressBook,
  parseAddressBook,
  restoredBootstrap,
  snapshotAddresses,
} from "../p2p/index.ts";
import { writeFileAtomic } from "../shared/atomic-write.ts";
import { type NetworkSummary, networkSummary, peerTable, startLanDiscovery } from "../p2p/index.ts";
import type { LedgerStore } from "../ledger/index.ts";
import { ANNOUNCE_MS, LedgerSync } from "./ledger-sync.ts";
import { Auditor, type AuditStatsStore, cheatingBackend } from "../p2p/index.ts";
import type { CompletionRequest, ConsentTicket } from "../contract/index.ts";
import { fraudProofStore } from "./fraud-proofs.ts";

/**
 * The overlay's, the LAN discovery's and the auditor's log (they write `{ event, ... }`) in the
 * server's line shape `{ level, msg, ... }`: an event that names a refusal or a failure is a
 * warning, the rest information.
 */
function eventLog(entry: Record<string, unknown>): void {
  const event = String(entry["event"] ?? "p2p");
  const warn = /bad|refused|invalid|error|fail|dropped|unknown/.test(event);
  logJson({ level: warn ? "warn" : "info", msg: event, ...entry });
}

/** The running peer network. */
export interface PeerNetwork {
  url: string;
  node: P2PNode;
  /** Provider lookup, reachability and relays (src/p2p/overlay.ts). */
  overlay: Overlay;
  /** The network as this node sees it (src/p2p/network-view.ts). */
  network(): NetworkSummary;
  /** The router: what the API should use as its backend. */
  backend: CompletionBackend;
  route: Hono;
  /** Audits of peers' answers and fraud proofs (issue 20). */
  auditor: Auditor;
  stop(): Promise<void>;
}

/** Planning interval (ms). Why 1 s: pings every 5 s and exchanges every 10 s need no finer tick. */
const TICK_MS = 1000;
/** Address book save interval (ms). Why 1 min: a crash loses at most a minute of learned peers. */
const SAVE_MS = 60_000;

/**
 * Reads the saved address book (`<dataDir>/peers.json`).
 *
 * @returns the book, or null when there is none or it is malformed (logged; it is overwritten).
 */
async function loadAddressBook(path: string): Promise<AddressBook | null> {
  const file = Bun.file(path);
  if (!(await file.exists())) return null;
  const parsed = parseAddressBook(await file.text());
  if (parsed.ok) return parsed.value;
  console.error(JSON.stringify({ event: "p2p_address_book_refused", path, reason: parsed.error }));
  return null;
}

/** Writes the address book atomically (shared/atomic-write.ts). */
function saveAddressBook(path: string, book: AddressBook): Promise<void> {
  try {
    writeFileAtomic(path, JSON.stringify(book) + "\n");
    return Promise.resolve();
  } catch (err: unknown) {
    return Promise.reject(err); // converted: the caller logs it
  }
}

/**
 * SHA-256 of a file, streamed.
 *
 * @param path the file.
 * @returns lowercase hex.
 * @throws the read error when the file cannot be read.
 */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/**
 * Starts the node.
 *
 * @param config peer port, bootstrap peers, TLS files, host.
 * @param identity this node's key pair.
 * @param local the local backend.
 * @param modelPath the model file to hash for adverts (null = none).
 * @param options the owner's consent: a check for each peer request and the summary adverts carry.
 * @returns the network.
 * @throws {AriaError} P2P_LISTEN when the peer port cannot be bound or the TLS files read.
 */
export async function startPeerNetwork(
  config: ServeConfig,
  identity: NodeIdentity,
  local: CompletionBackend,
  modelPath: string | null,
  options: Readonly<{
    consent?: PeerConsent;
    consentSummary?: () => Record<string, unknown>;
    /** Why a peer's advertised consent refuses a request for a model (router). */
    refuses?: (summary: Readonly<Record<string, unknown>>, model: string) => string | undefined;
    /** Records a peer request served here and returns its receipt (the native backend's ledger). */
    provenance?: PeerProvenance;
    /** Plugs into the node before it starts (the pipeline's StageWire). */
    extension?: { attach(node: P2PNode): void };
    /** The model file's SHA-256 when already known (not hashed again). */
    sha256?: string;
    /** The node's ledger: its headers are exchanged with peers and theirs kept in it. */
    ledger?: LedgerStore;
    /** Admits an audit's re-execution under the owner's consent policy (throws to refuse). */
    admitAudit?: (request: CompletionRequest) => ConsentTicket;
    /** The relay role's limits (--relay; from the consent policy). Unset: no relaying. */
    relayPolicy?: RelayPolicy;
  }> = {},
): Promise<PeerNetwork> {
  const metered = meteredBackend(local);
  const hashes = new Map<string, string>();
  const known = local.listModels()[0]?.id;
  if (options.sha256 !== undefined && known !== undefined) hashes.set(known, options.sha256);
  else if (modelPath !== null) {
    const id = known;
    // terminated: a model file that cannot be hashed is advertised without a hash
    if (id !== undefined) sha256File(modelPath).then((h) => hashes.set(id, h)).catch(() => {});
  }
  const clock = systemClock;
  const bookPath = join(config.dataDir, "peers.json");
  const book = await loadAddressBook(bookPath);
  const base = nodeBase(config, identity);
  // the saved peers join the configured bootstrap list, so a restart finds the network it left
  const restored = book ? restoredBootstrap(book, clock.nowMs(), base.bootstrap) : [];
  const onRequest = serveFromBackend(servedToPeers(metered.backend, config), {
    clock,
    log: logJson,
    ...(options.consent ? { consent: options.consent } : {}),
    ...(options.provenance ? { provenance: options.provenance } : {}),
  });
  const node = new P2PNode({
    ...base,
    bootstrap: [...base.bootstrap, ...restored],
    advert: () =>
      advertFromBackend(metered.backend, {
        sha256: hashes,
        tokensPerSecond: metered.tokensPerSecond(),
        ...(options.consentSummary ? { consent: options.consentSummary() } : {}),
      }),
    onRequest,
  });
  // provider records, reachability and relays: requests that come through a relay are served by
  // the same handler (and consent) as those on a direct connection
  const overlay = new Overlay({
    node,
    sign: base.crypto.sign,
    verify: base.crypto.verify,
    clock,
    randomHex: base.randomHex,
    dialBack: (url, target, nonce) => dialBack(config, url, target, nonce),
    onRequest,
    ...(options.relayPolicy ? { relayPolicy: options.relayPolicy } : {}),
    // tests only: a dishonest relay (ARIA_TEST_RELAY_TAMPER) changes one character per frame
    ...(config.testRelayTamper === true ? { tamper: tamperFrame } : {}),
    log: eventLog,
  });
  node.setOverlayHandler(overlay);
  options.extension?.attach(node);
  // the backend is on the node's disposal stack (src/node/start.ts): a failure here leaves
  // closing it to the stack
  const url = await listenForPeers(node, config);
  overlay.start(url);
  // --lan-discovery: signed multicast announcements on the local network (src/p2p/lan.ts)
  const lan = config.lanDiscovery === true
    ? await startLanDiscovery({
      self: identity.nodeId,
      url,
      sign: base.crypto.sign,
      verify: base.crypto.verify,
      clock,
      dial: (id, at) => node.dial(id, at),
      log: eventLog,
    }).catch((err: unknown) => {
      // converted: a node without multicast keeps running on its bootstrap list
      logJson({ level: "error", msg: "LAN discovery unavailable", error: String(err) });
      return null;
    })
    : null;
  const provide = () =>
    overlay.provide(
      metered.backend.listModels().map((m) => ({
        id: m.id,
        sha256: hashes.get(m.id) ?? null,
        layers: null,
        nLayers: 0,
      })),
    );
  const timer = setInterval(() => {
    node.tick();
    try {
      provide();
      overlay.tick();
    } catch (err: unknown) {
      // terminated: an overlay fault is logged; the node's own tick above is unaffected
      logJson({ level: "error", msg: "overlay tick failed", error: String(err) });
    }
  }, TICK_MS);
  const save = () =>
    saveAddressBook(bookPath, snapshotAddresses(node.state, clock.nowMs(), book)).catch(
      // terminated: a failed save is logged; the previous book stays in place
      (err: unknown) =>
        console.error(JSON.stringify({ event: "p2p_address_book_save", error: String(err) })),
    );
  const saver = setInterval(save, SAVE_MS);
  const sync = options.ledger === undefined ? undefined : new LedgerSync({
    node,
    store: options.ledger,
    identity,
    clock,
    log: logJson,
  });
  const announcer = sync && setInterval(() => sync.announce(), ANNOUNCE_MS);
  // issue 20: peers' answers are re-executed here at the audit rate; a mismatch makes a fraud
  // proof, kept in the data dir, and the convicted node's chain stops counting in this ledger
  const auditor = new Auditor({
    node,
    local: metered.backend,
    identity,
    rate: config.auditRate,
    localSha256: (model) => hashes.get(model),
    ...(options.admitAudit ? { admit: options.admitAudit } : {}),
    store: fraudProofStore(config.dataDir, logJson),
    // each peer's audit counts live in the data dir's ledger file: a restart keeps every peer's
    // record and its audit-rate warm-up (a peer audited many times is not new again)
    ...(options.ledger ? { statsStore: auditStatsStore(options.ledger) } : {}),
    onConvicted: (accused, proofId) =>
      options.ledger?.rejectPeer(accused, `fraud proof ${proofId}`, clock.nowMs()),
    clock,
    log: eventLog,
  });
  // the network as this node sees it (aria peers, the dashboard's peers page)
  const network = () =>
    networkSummary(peerTable(node.state, clock.nowMs()).peers, {
      ...overlay.view(),
      contacts: overlay.contacts(),
      networkModels: overlay.networkModels(),
    });
  const router = new PeerBackend({
    local: metered.backend,
    node,
    ...(options.refuses ? { refuses: options.refuses } : {}),
    // issue 19, hole 3: a peer's answer passes only with a receipt it signed for this request
    // (and this output when it produced all of it); for the model this node has, peers must
    // advertise its hash and answer the model challenge first
    checkReceipt: ({ peer, request, receipt, output }) => {
      if (receipt === undefined) return "no receipt";
      const checked = checkRelayedReceipt(receipt, {
        peer,
        model: request.model,
        input: request.input,
        ...(output !== undefined ? { output } : {}),
      });
      return checked.ok ? undefined : checked.error;
    },
    localSha256: (model) => hashes.get(model),
    auditor,
    // providers this node is not connected to: looked up on the overlay, asked through the
    // relay their record names (the receipt check above applies to them too)
    overlay: {
      models: () => overlay.networkModels().map((m) => m.id),
      find: (model) => overlay.findProviders(model),
      open: (route, body) => overlay.openRoute(route, body),
    },
  });
  return {
    url: url ?? "",
    node,
    overlay,
    backend: router,
    auditor,
    network,
    route: peersRoute(() => node.state, clock, () => ({
      refused: node.refused,
      audits: { ...auditor.counters, rate: config.auditRate },
      reputation: auditor.reputation(),
      // routed requests whose first choice was a peer the score cannot judge yet (score.ts)
      explored: router.explored,
      overlay: overlay.view(),
      network: network(),
      ...(lan ? { lan: { ...lan.counts } } : {}),
    })),
    async stop() {
      clearInterval(timer);
      overlay.stop();
      lan?.stop();
      clearInterval(saver);
      await save();
      if (announcer) clearInterval(announcer);
      await node.stop();
    },
  };
}

/**
 * The auditor's stats kept in the ledger file (table `peer_audits`).
 *
 * @param ledger the data dir's ledger store.
 * @returns the store.
 */
export function auditStatsStore(ledger: LedgerStore): AuditStatsStore {
  return {
    list: (keep) => ledger.peerAudits(keep),
    save: (peer, stats, updatedMs) => ledger.putPeerAudits(peer, stats, updatedMs),
  };
}

/**
 * What this node serves to peers: its backend, or under the TEST-ONLY switch
 * ARIA_TEST_ONLY_CHEAT_AFTER (src/p2p/test-cheat.ts) a cheating wrapper, loudly logged.
 */
function servedToPeers(backend: CompletionBackend, config: ServeConfig): CompletionBackend {
  const after = config.testOnlyCheatAfter;
  if (after === undefined) return backend;
  logJson({ level: "warn", event: "test_only_cheating", after });
  return cheatingBackend(backend, after);
}

/**
 * The entries of a comma-separated setting (--allowed-host, --cors-origin).
 *
 * @param value e.g. "a.example, b.example:8443".
 * @returns the trimmed, non-empty entries.
 */
export function listOf(value: string | undefined): string[] {
  return (value ?? "").split(",").map((x) => x.trim()).filter(Boolean);
}

/**
 * What every node of `aria serve` shares: ed25519 crypto over the identity, the Bun WebSocket
 * transport on the peer port (wss with --p2p-cert / --p2p-key), clock, randomness, bootstrap
 * peers, agent and log.
 *
 * @param config peer port, host, allowed hosts, TLS files, bootstrap peers.
 * @param identity this node's key pair.
 * @returns the node dependencies without advert or request handler.
 */
export function nodeBase(config: ServeConfig, identity: NodeIdentity) {
  return {
    crypto: {
      nodeId: identity.nodeId,
      sign: (b: Uint8Array) => bytesToHex(identity.sign(b)),
      // handled here: a signature that is not 128 hex chars is simply not valid
      verify: (id: string, b: Uint8Array, sig: string) =>
        /^[0-9a-f]{128}$/.test(sig) && verifySignature(id, b, hexToBytes(sig)),
    },
    transport: bunTransport({
      port: config.p2pPort ?? 0,
      hostname: config.host,
      // --no-listen: no peer port at all, as a node behind NAT that can only dial out
      listen: config.listen !== false,
      allowedHosts: listOf(config.allowedHosts),
      ...(config.p2pCert && config.p2pKey
        ? { tls: { certPath: config.p2pCert, keyPath: config.p2pKey } }
        : {}),
    }),
    clock: systemClock,
    randomHex: (n: number) => bytesToHex(crypto.getRandomValues(new Uint8Array(n))),
    bootstrap: (config.peers ?? "").split(",").map((u) => u.trim()).filter(Boolean),
    agent: "aria/0.1.0",
    log: logJson,
  };
}

/**
 * Starts a node on the peer port.
 *
 * @returns where it listens.
 * @throws {AriaError} P2P_LISTEN when the peer port cannot be bound or the TLS files read.
 */
export async function listenForPeers(node: P2PNode, config: ServeConfig): Promise<string | null> {
  try {
    return await node.start();
  } catch (err: unknown) {
    // converted: a taken port or unreadable TLS file becomes a message naming them (exit 1)
    throw new AriaError(
      "P2P_LISTEN",
      `Cannot listen for peers on ${config.host}:${config.p2pPort ?? 0}${
        config.p2pCert ? ` with ${config.p2pCert}` : ""
      }: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** Tests only: the dishonest relay's edit: one hex digit of the inner message's id, inside the
 * signed text (the frame still parses; only the signature can tell). */
function tamperFrame(frame: string): string {
  const m = /\\"id\\":\\"[0-9a-f]/.exec(frame);
  if (!m) return frame;
  const at = m.index + m[0].length - 1;
  return frame.slice(0, at) + (frame[at] === "0" ? "1" : "0") + frame.slice(at + 1);
}

/** How long a dial-back waits for the handshake with the node that asked (ms). Why 10 s: within
 * the asker's 15 s test timeout (reachability.ts), with room for a loaded machine. */
const DIALBACK_WAIT_MS = 10_000;

/**
 * The dialling side of a reachability test: a throwaway identity dials `url` on a fresh
 * connection (our own connection to the asker, whichever side opened it, proves nothing), checks
 * that node `target` answers there, and sends it `reach.dialback {nonce}`.
 *
 * @returns true if the dial-back was sent.
 */
async function dialBack(
  config: ServeConfig,
  url: string,
  target: string,
  nonce: string,
): Promise<boolean> {
  const id = identityFromSecret(newSecretKey());
  const base = nodeBase({ ...config, listen: false, peers: undefined }, id);
  const probe = new P2PNode({
    ...base,
    bootstrap: [url],
    plan: { ...DEFAULT_PLAN, targetPeers: 1, maxPeers: 1 },
    agent: "aria-dialback/0.1.0",
  });
  try {
    await probe.start();
    const end = performance.now() + DIALBACK_WAIT_MS;
    while (!probe.connectedPeers().includes(target)) {
      if (performance.now() > end) return false;
      await Bun.sleep(50);
    }
    const sent = probe.send(target, { kind: "reach.dialback", body: { nonce } });
    await Bun.sleep(200); // let the frame leave before the connection closes
    return sent;
  } finally {
    await probe.stop();
  }
}
