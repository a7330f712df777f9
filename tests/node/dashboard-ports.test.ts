/**
 * The dashboard's adapters (src/node/dashboard-ports.ts) over the REAL modules, through
 * `app.request()` (no dashboard socket): a real LedgerStore in a temp data dir filled by the
 * ledger's own recorder, a real signed policy file and PolicyGate, the real downloader pulling
 * from a local hub over HTTP, and two real p2p nodes over the in-memory transport.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { type CompletionBackend, createApp } from "../../src/api/index.ts";
import {
  consentPath,
  type ConsentPolicy,
  loadOrCreatePolicy,
  PolicyGate,
  readPolicy,
} from "../../src/consent/index.ts";
import { createDashboard, type DashboardDeps, embeddedAssets } from "../../src/dashboard/index.ts";
import { loadOrCreateIdentity } from "../../src/identity/index.ts";
import {
  createProvenanceRecorder,
  hashHeader,
  LEDGER_FILE,
  type LedgerStore,
  openLedger,
  sha256Text,
} from "../../src/ledger/index.ts";
import type { RegistryEntry } from "../../src/model/registry.ts";
import { P2PNode } from "../../src/p2p/node.ts";
import { advertFromBackend } from "../../src/p2p/serve-peer.ts";
import { MemoryNetwork } from "../../src/p2p/transport.ts";
import { dashboardPorts } from "../../src/node/dashboard-ports.ts";
import { FakeBackend } from "../helpers/fake-backend.ts";
import { fixedIdentity, makeChain } from "../helpers/ledger.ts";
import { edCrypto, ManualClock, seededHex } from "../helpers/p2p.ts";

const HX = { "HX-Request": "true" };
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "aria-dashports-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function appOf(extra: Partial<DashboardDeps>, backend: CompletionBackend = new FakeBackend()) {
  const dashboard = createDashboard({
    backend,
    nodeId: "node-test",
    assets: embeddedAssets(),
    ...extra,
  });
  return createApp({ backend, clock: { nowMs: () => Date.now() }, dashboard });
}

function form(fields: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...HX },
    body: new URLSearchParams(fields).toString(),
  };
}

/** Runs a playground chat and returns the `done` event's data. */
async function chat(app: ReturnType<typeof appOf>, message: string) {
  const res = await app.request("/chat/stream", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "fake-model", message, maxTokens: 3 }),
  });
  const text = await res.text();
  const done = /event: done\ndata: (.*)/.exec(text);
  expect(done).not.toBeNull();
  return JSON.parse(done![1]!) as { receipt?: { record: { record: unknown } } };
}

describe("ledger and energy adapters over a real LedgerStore", () => {
  let store: LedgerStore;
  let app: ReturnType<typeof appOf>;
  const clock = { nowMs: () => Date.now() };

  beforeAll(() => {
    const dataDir = tempDir();
    const identity = loadOrCreateIdentity(dataDir);
    // sealEvery 2: three chats give one sealed block and one pending record
    store = openLedger(join(dataDir, LEDGER_FILE), { identity, clock, sealEvery: 2 });
    let n = 0;
    const sink = createProvenanceRecorder({
      identity,
      writer: store,
      clock,
      modelSha256: sha256Text("model"),
      nLayers: 4,
      // two measured figures, then no figure (0 mJ estimated: what serve writes with no meter)
      describeWork: () =>
        ++n <= 2
          ? { energyMj: 300, energySource: "measured" }
          : { energyMj: 0, energySource: "estimated" },
    });
    app = appOf({ provenance: sink, ports: dashboardPorts({ ledger: store, clock }) });
  });
  afterAll(() => store.close());

  test("a chat adds a record to the ledger page; its receipt verifies; a forged one does not", async () => {
    const before = await (await app.request("/ledger", { headers: HX })).text();
    expect(before).toContain("Newest 1 block(s)"); // genesis only
    const receipts = [];
    for (const m of ["one", "two", "three"]) receipts.push((await chat(app, m)).receipt!);
    const page = await (await app.request("/ledger", { headers: HX })).text();
    expect(page).toContain("Newest 2 block(s)"); // genesis + the sealed block
    const placed = [...store.blocks()[1]!.records, ...store.pending().map((p) => p.signed)];
    expect(placed).toHaveLength(3);
    for (const r of store.pending()) expect(page).toContain(r.hash);
    expect(page).toContain("fake-model: ");
    expect(page).toContain(", pending, request dash-3");
    expect(page).toContain(", block 1, request dash-1");
    // the newest receipt, pending when it was given, verifies with the offline verifier
    const ok = await (await app.request(
      "/ledger/verify",
      form({ receipt: JSON.stringify(receipts[2]) }),
    )).text();
    expect(ok).toContain("Valid receipt.");
    expect(ok).toContain("Not yet in a block (pending).");
    const forged = structuredClone(receipts[0]!) as { record: { record: { modelId: string } } };
    forged.record.record.modelId = "other-model";
    const bad = await (await app.request(
      "/ledger/verify",
      form({ receipt: JSON.stringify(forged) }),
    )).text();
    expect(bad).toContain("Not valid: the record hash does not match the record");
  });

  test("the ledger page lists the peers' chains kept in the store, rejected ones with the reason", async () => {
    const bob = fixedIdentity(7);
    const chain = makeChain(bob, [2]);
    const headHash = hashHeader(chain[1]!.header);
    store.savePeerHeaders(bob.nodeId, [chain[1]!], {
      height: 1,
      headHash,
      totalTokens: 24,
      updatedMs: 5,
    });
    const rejected = "c".repeat(64);
    store.rejectPeer(rejected, "the peer rewrote block 2", 6);
    const page = await (await app.request("/ledger", { headers: HX })).text();
    expect(page).toContain("<h2>Peers' chains</h2>");
    expect(page).toContain("2 peer chain(s)");
    expect(page).toContain(headHash);
    expect(page).toContain('<span class="ok">verified</span>');
    expect(page).toContain(rejected);
    expect(page).toContain("rejected: the peer rewrote block 2");
  });

  test("the energy page draws the records and says where the figures come from", async () => {
    const page = await (await app.request("/energy", { headers: HX })).text();
    expect(page).toContain('<strong data-field="energy-source">measured (2 samples)</strong>');
    expect(page.match(/<svg class="chart"/g)?.length).toBe(2);
  });
});

describe("consent adapter over the real policy file and gate", () => {
  test("an invalid edit keeps the old policy; a valid one is signed, saved and applied", async () => {
    const dataDir = tempDir();
    const identity = loadOrCreateIdentity(dataDir);
    const clock = { nowMs: () => Date.now() };
    const first = loadOrCreatePolicy(dataDir, identity, clock.nowMs()).signed;
    const gate = new PolicyGate(first.policy, clock);
    const events: string[] = [];
    const app = appOf({
      ports: dashboardPorts({
        clock,
        consent: {
          dataDir,
          identity,
          clock,
          gate,
          onChange: (e) => events.push(e.newHash),
        },
      }),
    });
    const page = await (await app.request("/consent", { headers: HX })).text();
    expect(page).toContain(`&quot;maxThreads&quot;: ${first.policy.maxThreads}`);
    const fileBefore = readFileSync(consentPath(dataDir), "utf8");

    const invalid = { ...first.policy, maxThreads: 0 };
    const refused = await (await app.request(
      "/consent",
      form({ policy: JSON.stringify(invalid) }),
    )).text();
    expect(refused).toContain("Policy not saved:");
    expect(refused).toContain("maxThreads");
    expect(refused).toContain("the policy is unchanged");
    const notJson = await (await app.request("/consent", form({ policy: "{" }))).text();
    expect(notJson).toContain("Policy not saved: The policy is not JSON");
    expect(readFileSync(consentPath(dataDir), "utf8")).toBe(fileBefore);
    expect(gate.policy).toEqual(first.policy);

    const next: ConsentPolicy = { ...first.policy, servePeers: !first.policy.servePeers };
    const saved = await (await app.request("/consent", form({ policy: JSON.stringify(next) })))
      .text();
    expect(saved).toContain("Policy saved.");
    const onDisk = readPolicy(dataDir, identity)!; // verified: signed by this node
    expect(onDisk.policy).toEqual(next);
    expect(gate.policy).toEqual(next); // applied at once
    expect(events).toEqual([onDisk.policyHash]);
    expect(readdirSync(dataDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const after = await (await app.request("/consent", { headers: HX })).text();
    expect(after).toContain(`&quot;servePeers&quot;: ${next.servePeers}`);
  });
});

describe("models adapter with the real downloader and a local hub", () => {
  const body = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
  let hub: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    hub = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => new Response(body, { headers: { "content-length": String(body.length) } }),
    });
  });
  afterAll(() => hub.stop(true));

  const entry = (name: string, over: Partial<RegistryEntry> = {}): RegistryEntry => ({
    name,
    aliases: [],
    description: "test model",
    repo: "org/tiny",
    revision: "main",
    file: "tiny.gguf",
    size: body.length,
    sha256: createHash("sha256").update(body).digest("hex"),
    arch: "bitnet",
    ternaryType: "TQ2_0",
    license: "MIT",
    source: "test",
    ...over,
  });
  /** A model whose SHA-256 the registry does not know. */
  const withoutHash = (e: RegistryEntry): RegistryEntry => {
    const { sha256: _unknown, ...rest } = e;
    return rest;
  };
  const registry = [
    entry("aria-nano", { builtin: true }),
    entry("tiny"),
    withoutHash(entry("unhashed")),
  ];

  async function pullTo(app: ReturnType<typeof appOf>, name: string): Promise<string> {
    const res = await app.request("/models/pull", form({ name }));
    const id = /id="pull-([^"]+)"/.exec(await res.text())![1]!;
    for (let i = 0; i < 400; i++) {
      const row = await (await app.request(`/models/pulls/${id}`, { headers: HX })).text();
      if (!row.includes('data-state="running"')) return row;
      await Bun.sleep(10);
    }
    throw new Error("the pull did not finish");
  }

  test("pull installs a verified file; delete refuses the served model, removes others", async () => {
    const dataDir = tempDir();
    const sources = {
      dataDir,
      hub: { endpoint: `http://127.0.0.1:${hub.port}` },
      registry,
    };
    const clock = { nowMs: () => Date.now() };
    const served = join(dataDir, "models", "tiny.gguf");
    const app = appOf({
      ports: dashboardPorts({ clock, models: { ...sources, servedPath: served } }),
    });
    const row = await pullTo(app, "tiny");
    expect(row).toContain('data-state="done"');
    expect(row).toContain("100%");
    expect(new Uint8Array(readFileSync(served))).toEqual(body);
    const list = await (await app.request("/models/installed", { headers: HX })).text();
    expect(list).toContain("tiny");
    expect(list).toContain("org/tiny");
    expect(list).toContain("built into ARIA"); // aria-nano
    const page = await (await app.request("/models", { headers: HX })).text();
    expect(page).toContain("3 known model(s)");
    expect(page).toContain('<option value="unhashed"></option>');

    const unknown = await pullTo(app, "no-such-model");
    expect(unknown).toContain("failed: Unknown model &quot;no-such-model&quot;");
    const unverified = await pullTo(app, "unhashed");
    expect(unverified).toContain("failed: Cannot verify unhashed");
    expect(existsSync(join(dataDir, "models", "unhashed.gguf"))).toBe(false);

    const refused = await (await app.request("/models/delete", form({ name: "tiny" }))).text();
    expect(refused).toContain("Not deleted: tiny is the model this node is serving");
    expect(existsSync(served)).toBe(true);
    const builtin = await (await app.request("/models/delete", form({ name: "aria-nano" })))
      .text();
    expect(builtin).toContain("Not deleted: aria-nano is built into ARIA");

    const other = appOf({
      ports: dashboardPorts({ clock, models: { ...sources, servedPath: null } }),
    });
    const gone = await (await other.request("/models/delete", form({ name: "tiny" }))).text();
    expect(gone).not.toContain("Not deleted");
    expect(existsSync(served)).toBe(false);
  });
});

describe("peers adapter over a running p2p node", () => {
  test("the peers page lists the connected peer from the node's table, escaped", async () => {
    const net = new MemoryNetwork({ auto: true });
    const clock = new ManualClock();
    const served = new FakeBackend({
      models: [{ id: "<b>model</b>", ownedBy: "x", created: 0, contextLength: 64 }],
    });
    const a = new P2PNode({
      crypto: edCrypto(1),
      transport: net.transport("n1"),
      clock,
      randomHex: seededHex(1),
      bootstrap: [],
      advert: () => advertFromBackend(served),
    });
    const urlA = await a.start();
    const b = new P2PNode({
      crypto: edCrypto(2),
      transport: net.transport("n2"),
      clock,
      randomHex: seededHex(2),
      bootstrap: [urlA!],
    });
    await b.start();
    await Bun.sleep(5);
    const app = appOf({ nodeId: b.id, ports: dashboardPorts({ clock, peers: b }) });
    const page = await (await app.request("/peers", { headers: HX })).text();
    expect(page).toContain(a.id);
    expect(page).toContain(urlA!);
    expect(page).toContain("&lt;b&gt;model&lt;/b&gt;");
    expect(page).not.toContain("<b>model</b>");
    // without the peer network there is no port: the page says so
    const off = await (await appOf({ ports: dashboardPorts({ clock }) }).request("/peers")).text();
    expect(off).toContain("not available on this node");
    await b.stop();
    await a.stop();
  });
});
