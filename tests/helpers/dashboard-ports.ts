/**
 * @module In-memory fakes of the dashboard's ports (src/dashboard/port.ts) for route and browser
 * tests — PORT FAKES, not the real ledger, consent, peer or model-manager modules (the real
 * adapters are src/node/dashboard-ports.ts, tested in tests/node/dashboard-ports.test.ts). The
 * fakes let route tests reach states the real modules cannot easily produce (a peer id with
 * markup). `httpModelsFake` pulls over real HTTP from a local server, so the progress the
 * dashboard shows comes from a real transfer.
 */
import type {
  ConsentView,
  InstalledModel,
  LedgerView,
  ModelsView,
  PeerRow,
  PeersView,
  PullProgress,
} from "../../src/dashboard/port.ts";

/** Peers from a list. */
export function fakePeers(rows: PeerRow[]): PeersView {
  return { list: () => rows };
}

/** A ledger with fixed rows whose verifier accepts exactly `{"valid":true}`. */
export function fakeLedger(): LedgerView {
  return {
    blocks: (limit) =>
      [{ height: 1, hash: "b1", prevHash: "b0", timeMs: 1_700_000_000_000, records: 1 }].slice(
        0,
        limit,
      ),
    records: () => [{ hash: "r1", kind: "completion", timeMs: 1_700_000_000_000, summary: "x" }],
    verifyReceipt(json) {
      try {
        const v = JSON.parse(json) as { valid?: unknown };
        return v.valid === true
          ? { ok: true, detail: "Signed by the fake." }
          : { ok: false, reason: "The fake signature does not match." };
      } catch {
        // handled: bad JSON is a reason, as the port contract says
        return { ok: false, reason: "The receipt is not JSON." };
      }
    },
  };
}

/** A policy store that refuses anything that is not a JSON object. */
export function fakeConsent(
  initial = '{\n  "allow": true\n}',
): ConsentView & { current(): string } {
  let policy = initial;
  return {
    current: () => policy,
    policyJson: () => policy,
    update(json) {
      try {
        const v: unknown = JSON.parse(json);
        if (typeof v !== "object" || v === null || Array.isArray(v)) {
          return { ok: false, reason: "The policy must be a JSON object." };
        }
      } catch {
        // handled: refused with a reason; the stored policy is unchanged
        return { ok: false, reason: "The policy is not valid JSON." };
      }
      policy = json;
      return { ok: true };
    },
  };
}

/** A model manager whose pulls replay scripted progress (or throw `fail`). */
export function scriptedModels(
  steps: PullProgress[],
  fail?: Error,
): ModelsView & { list: InstalledModel[] } {
  const list: InstalledModel[] = [{ name: "aria-nano", sizeBytes: 3_603_072 }];
  return {
    list,
    installed: () => list,
    async *pull(name) {
      for (const s of steps) {
        await Promise.resolve();
        yield s;
      }
      if (fail) throw fail;
      list.push({ name, sizeBytes: steps.at(-1)?.receivedBytes ?? 0 });
    },
    delete(name) {
      const i = list.findIndex((m) => m.name === name);
      if (i < 0) throw new Error(`No installed model is named "${name}".`);
      list.splice(i, 1);
    },
  };
}

/**
 * A model manager that downloads `${baseUrl}/${name}` over HTTP and reports the bytes as they
 * arrive (the size from Content-Length). Installs into memory only.
 */
export function httpModelsFake(baseUrl: string): ModelsView {
  const list: InstalledModel[] = [];
  return {
    installed: () => list,
    async *pull(name, signal) {
      const res = await fetch(`${baseUrl}/${encodeURIComponent(name)}`, { signal });
      if (!res.ok || !res.body) throw new Error(`The fake hub answered ${res.status}.`);
      const total = Number(res.headers.get("content-length") ?? NaN);
      const totalBytes = Number.isFinite(total) ? total : null;
      let received = 0;
      yield { receivedBytes: 0, totalBytes };
      for await (const chunk of res.body) {
        received += chunk.byteLength;
        yield { receivedBytes: received, totalBytes };
      }
      list.push({ name, sizeBytes: received, source: baseUrl });
    },
    delete(name) {
      const i = list.findIndex((m) => m.name === name);
      if (i < 0) throw new Error(`No installed model is named "${name}".`);
      list.splice(i, 1);
    },
  };
}
