/**
 * @module Shell: the dashboard's ports (src/dashboard/port.ts) over the real modules of a running
 * node — the p2p node's peer table, the ledger file, the consent policy file and gate, and the
 * data dir's models/ folder with the hub downloader. The mapping itself is pure
 * (dashboard-map.ts); this file only reads and writes: sqlite through the LedgerStore, the
 * policy file through consent/store.ts (temp file + rename), model files, the hub over HTTP.
 * A port whose module is not running on this node is left out, so its page says so.
 * Private to src/cli/.
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type {
  ConsentView,
  DashboardPorts,
  EnergySeries,
  LedgerView,
  ModelsView,
  NetworkRow,
  PeersView,
  PullProgress,
} from "../dashboard/index.ts";
import { type ConsentPolicy, type PolicyChangedEvent, savePolicy } from "../consent/index.ts";
import type { NodeIdentity } from "../identity/index.ts";
import type { LedgerStore, SignedLedgerRecord } from "../ledger/index.ts";
import {
  builtinModelBytes,
  findModel,
  type HubSettings,
  modelsDir,
  pullModel,
  REGISTRY,
  type RegistryEntry,
} from "../model/index.ts";
import { DEFAULT_PLAN, type PeerState, peerTable } from "../p2p/index.ts";
import {
  blockRows,
  checkReceiptText,
  deletePlan,
  energyPoints,
  installedModels,
  knownModels,
  type ModelFile,
  peerRows,
  placeRecords,
  policyFromText,
  recordRows,
} from "./dashboard-map.ts";

type Clock = { nowMs(): number };

/**
 * The peers page from a running p2p node.
 *
 * @param node the node (its `state` is read on each request).
 * @param clock for "last seen" ages.
 * @returns the port.
 */
export function peersPort(
  node: { readonly state: PeerState; network?: () => NetworkRow | null },
  clock: Clock,
  auditor?: { stats(peer: string): { answers: number; passed: number; failed: number } },
): PeersView {
  const audits = auditor && ((peer: string) => auditor.stats(peer));
  return {
    list: () => peerRows(peerTable(node.state, clock.nowMs()), DEFAULT_PLAN.silenceMs, audits),
    ...(node.network ? { network: node.network } : {}),
  };
}

/** Blocks read per query while walking back for records. Why 32: at most 512 records a query. */
const BLOCK_BATCH = 32;

/**
 * The newest `n` records (pending included), oldest first, with their block heights.
 *
 * @param store the ledger.
 * @param n how many.
 * @returns the records.
 */
function recentRecords(store: LedgerStore, n: number) {
  const pending: SignedLedgerRecord[] = store.pending().map((p) => p.signed);
  let placed = placeRecords([], pending);
  let top = store.head().height;
  while (placed.length < n && top >= 1) {
    const from = Math.max(1, top - BLOCK_BATCH + 1);
    placed = [
      ...placeRecords(store.blocks({ fromHeight: from, limit: top - from + 1 }), []),
      ...placed,
    ];
    top = from - 1;
  }
  return n <= 0 ? [] : placed.slice(-n); // slice(-0) would keep everything
}

/**
 * The ledger explorer over the node's ledger file; receipts are checked with the ledger's own
 * offline verifier (ledger/receipt.ts).
 *
 * @param store the open ledger.
 * @returns the port.
 */
export function ledgerPort(store: LedgerStore): LedgerView {
  return {
    blocks: (limit) => {
      const head = store.head().height;
      return blockRows(store.blocks({ fromHeight: Math.max(0, head - limit + 1) }), limit);
    },
    records: (limit) => recordRows(recentRecords(store, limit), limit),
    verifyReceipt: (json) => checkReceiptText(json),
    peerChains: () => store.peerChains(),
  };
}

/** Samples on the energy page. Why 500: about a day of a busy playground, and one SVG stays light. */
export const ENERGY_SAMPLES = 500;

/**
 * The energy history from the ledger's records (their energy, tokens and timings).
 *
 * @param store the open ledger.
 * @returns the port.
 */
export function energyPort(store: LedgerStore): EnergySeries {
  return {
    points: () => energyPoints(recentRecords(store, ENERGY_SAMPLES).map((p) => p.signed.record)),
  };
}

/** What the consent page acts on. */
export interface ConsentSources {
  dataDir: string;
  identity: NodeIdentity;
  clock: Clock;
  /** The gate that admits requests (serve.ts's PolicyGate). */
  gate: { readonly policy: ConsentPolicy; setPolicy(policy: ConsentPolicy): void };
  /** Receives the signed "policy changed" event of each saved change. */
  onChange?: (event: PolicyChangedEvent) => void;
}

/**
 * The consent page: shows the policy in force; an edit is validated (consent/policy.ts), signed
 * and written (consent/store.ts: temp file + rename) and applied to the gate at once. An invalid
 * edit gives its reason and changes nothing.
 *
 * @param s data dir, identity, clock, gate.
 * @returns the port.
 */
export function consentPort(s: ConsentSources): ConsentView {
  return {
    policyJson: () => JSON.stringify(s.gate.policy, null, 2),
    update: (text: string) => {
      const parsed = policyFromText(text);
      // handled: bad JSON or a bad field; the file and the gate keep the policy in force
      if (!parsed.ok) {
        return { ok: false, reason: `${parsed.reason}; the policy is unchanged` };
      }
      try {
        const saved = savePolicy(s.dataDir, s.identity, parsed.policy, s.clock.nowMs());
        s.gate.setPolicy(saved.signed.policy);
        if (saved.changed) s.onChange?.(saved.changed);
        return { ok: true };
      } catch (err: unknown) {
        // converted: a broken policy file on disk (or a failed write) is refused with its reason
        const why = err instanceof Error ? err.message : String(err);
        return { ok: false, reason: `${why}; the policy in force is unchanged` };
      }
    },
  };
}

/** What the models page acts on. */
export interface ModelSources {
  dataDir: string;
  hub: HubSettings;
  /** The model file this node serves (never deleted from the dashboard); null for none. */
  servedPath: string | null;
  /** The known models (default: the registry). */
  registry?: readonly RegistryEntry[];
}

/** The built-in model's extracted copies in models/ (aria-nano.<hash>.gguf): not user models. */
const EXTRACTED_BUILTIN = /^aria-nano\.[0-9a-f]+\.gguf$/;

function modelFiles(dataDir: string): ModelFile[] {
  const dir = modelsDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".gguf") && !EXTRACTED_BUILTIN.test(f))
    .flatMap((f) => {
      const st = statSync(join(dir, f), { throwIfNoEntry: false });
      return st?.isFile() ? [{ name: f, sizeBytes: st.size }] : [];
    });
}

/**
 * Follows a download's progress callbacks as an async iterable, keeping only the newest step
 * (the page polls twice a second; every 64 KiB chunk need not be queued).
 */
async function* follow(
  start: (onStep: (p: PullProgress) => void) => Promise<PullProgress>,
): AsyncGenerator<PullProgress> {
  let latest: PullProgress | null = null;
  let ended = false;
  let failed = false;
  let failure: unknown;
  let wake: (() => void) | null = null;
  const step = (p: PullProgress) => {
    latest = p;
    wake?.();
  };
  void start(step).then(step, (err: unknown) => {
    failed = true;
    failure = err;
  }).finally(() => {
    ended = true;
    wake?.();
  });
  for (;;) {
    if (latest !== null) {
      const p: PullProgress = latest;
      latest = null;
      yield p;
      continue;
    }
    if (ended) {
      if (failed) throw failure;
      return;
    }
    await new Promise<void>((r) => (wake = r));
    wake = null;
  }
}

/**
 * The models page: installed models (built-in, registry files, other .gguf files in models/),
 * pulls through the real downloader (redirects, resume, SHA-256, atomic install) and deletes
 * (never the built-in model or the one being served).
 *
 * @param s data dir, hub, served file, registry.
 * @returns the port.
 */
export function modelsPort(s: ModelSources): ModelsView {
  const registry = s.registry ?? REGISTRY;
  const dir = resolve(modelsDir(s.dataDir));
  const servedFile = s.servedPath !== null && dirname(resolve(s.servedPath)) === dir
    ? basename(s.servedPath)
    : null;
  return {
    installed: () => installedModels(registry, modelFiles(s.dataDir), builtinModelBytes()),
    known: () => knownModels(registry, modelFiles(s.dataDir)),
    pull(name, signal) {
      const entry = findModel(name.trim(), registry);
      // handled: these throw from the iterator; the pull's row shows the message
      if (entry === undefined) {
        return follow(() =>
          Promise.reject(
            new Error(`Unknown model "${name}": aria model list shows the known names`),
          )
        );
      }
      if (entry.sha256 === undefined && entry.builtin !== true) {
        return follow(() =>
          Promise.reject(
            new Error(
              `Cannot verify ${entry.name}: ARIA does not know its SHA-256; pull it from the ` +
                `command line with: aria model pull ${entry.name} --no-verify`,
            ),
          )
        );
      }
      const fallbackTotal = entry.size ?? null;
      return follow(async (onStep) => {
        const r = await pullModel(entry, {
          dataDir: s.dataDir,
          hub: s.hub,
          signal,
          onProgress: (p) =>
            onStep({ receivedBytes: p.done, totalBytes: p.total ?? fallbackTotal }),
        });
        return { receivedBytes: r.bytes, totalBytes: r.bytes };
      });
    },
    delete(name) {
      const plan = deletePlan(name, registry, modelFiles(s.dataDir), servedFile);
      if (!plan.ok) throw new Error(plan.reason);
      rmSync(join(dir, plan.file), { force: true });
      rmSync(join(dir, ".partial", `${plan.file}.part`), { force: true });
    },
  };
}

/** Everything a running node can show; each part is optional. */
export interface PortSources {
  /** The running p2p node, when the peer network is on. */
  peers?: { readonly state: PeerState; network?: () => NetworkRow | null };
  /** Audits of the peers' answers (issue 20), shown on the peers page. */
  auditor?: { stats(peer: string): { answers: number; passed: number; failed: number } };
  /** The node's ledger, when it keeps one. */
  ledger?: LedgerStore;
  consent?: ConsentSources;
  models?: ModelSources;
  clock: Clock;
}

/**
 * The dashboard's ports for a running node; a module that is not running gives no port.
 *
 * @param s the running modules.
 * @returns the ports for `createDashboard({ ports })`.
 */
export function dashboardPorts(s: PortSources): DashboardPorts {
  return {
    ...(s.peers ? { peers: peersPort(s.peers, s.clock, s.auditor) } : {}),
    ...(s.ledger ? { ledger: ledgerPort(s.ledger), energy: energyPort(s.ledger) } : {}),
    ...(s.consent ? { consent: consentPort(s.consent) } : {}),
    ...(s.models ? { models: modelsPort(s.models) } : {}),
  };
}
