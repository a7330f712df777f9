/**
 * The dashboard in a real browser: playwright-core driving Debian's chromium (/usr/bin/chromium,
 * installed by .ci/run). The server runs in-process on port 0: the real aria-nano native backend
 * (chat) and the dashboard with the REAL adapters (src/cli/_dashboard-ports.ts) for the ledger,
 * energy and consent pages over a temp data dir — the ledger file `aria serve` opens
 * (openServeProvenance over aria-nano), the signed policy file and its PolicyGate, which admits
 * the playground's chats. The peers and models pages use PORT FAKES (tests/helpers/
 * dashboard-ports.ts): a peer id containing markup (a real peer could not advertise that id), and
 * a model manager that downloads over real HTTP from a local fake hub of arbitrary files (the
 * real downloader needs registry models; tests/cli/dashboard-ports.test.ts covers it). Without
 * chromium the tests skip with a message.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { createApp, createMetrics } from "../../src/api/index.ts";
import { createDashboard, embeddedAssets } from "../../src/dashboard/index.ts";
import { NativeBackend } from "../../src/serve/native-backend.ts";
import { fakePeers, httpModelsFake } from "../helpers/dashboard-ports.ts";
import { openServeProvenance, type ServeProvenance } from "../../src/cli/_provenance.ts";
import { dashboardPorts } from "../../src/cli/_dashboard-ports.ts";
import {
  consentPath,
  loadOrCreatePolicy,
  PolicyGate,
  readPolicy,
} from "../../src/consent/index.ts";
import { loadOrCreateIdentity, type NodeIdentity } from "../../src/identity/index.ts";
import { hashRecord, type SignedRecord } from "../../src/ledger/index.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const NANO = join(import.meta.dir, "..", "..", "static", "models", "aria-nano.gguf");
const EVIL_PEER = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
/** Size of the file the fake hub serves: several chunks, so progress has steps. */
const HUB_FILE_BYTES = 3 * 1024 * 1024;

let browser: BrowserContext;
let backend: NativeBackend;
let server: ReturnType<typeof Bun.serve>;
let hub: ReturnType<typeof Bun.serve>;
let base = "";
let profile = "";
let dataDir = "";
let ledger: ServeProvenance;
let identity: NodeIdentity;
let gate: PolicyGate;

/**
 * A local "hub": GET /<name> answers HUB_FILE_BYTES bytes in 64 KiB chunks, 5 ms apart (names
 * starting with "slow" 100 ms apart: about 5 s, time to cancel).
 */
function startHub(): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const gapMs = new URL(req.url).pathname.startsWith("/slow") ? 100 : 5;
      const chunk = new Uint8Array(64 * 1024).fill(7);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= HUB_FILE_BYTES) return controller.close();
          await new Promise((r) => setTimeout(r, gapMs));
          controller.enqueue(chunk);
          sent += chunk.length;
        },
      });
      return new Response(body, { headers: { "content-length": String(HUB_FILE_BYTES) } });
    },
  });
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  backend = new NativeBackend({
    modelPath: NANO,
    modelId: "aria-nano",
    nodeId: "node-browser",
    parallel: 2,
    queue: 8,
    threads: 1,
  });
  await backend.ready;
  hub = startHub();
  const metrics = createMetrics();
  const clock = { nowMs: () => Date.now() };
  dataDir = mkdtempSync(join(tmpdir(), "aria-browser-data-"));
  identity = loadOrCreateIdentity(dataDir);
  ledger = openServeProvenance(dataDir, NANO, { clock });
  gate = new PolicyGate(loadOrCreatePolicy(dataDir, identity, clock.nowMs()).signed.policy, clock);
  const real = dashboardPorts({
    clock,
    ledger: ledger.store,
    consent: { dataDir, identity, clock, gate },
  });
  const dashboard = createDashboard({
    backend,
    nodeId: "node-browser",
    assets: embeddedAssets(),
    metrics,
    consent: gate,
    provenance: ledger.sink,
    ports: {
      ...real,
      peers: fakePeers([{
        id: EVIL_PEER,
        address: "127.0.0.1:9",
        latencyMs: 4,
        models: ["aria-nano"],
        layers: [{ model: "aria-nano", start: 0, end: 4 }],
        alive: true,
      }]),
      models: httpModelsFake(`http://127.0.0.1:${hub.port}`),
    },
  });
  const app = createApp({ backend, clock: { nowMs: () => Date.now() }, metrics, dashboard });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: app.fetch });
  base = `http://127.0.0.1:${server.port}`;
  profile = mkdtempSync(join(tmpdir(), "aria-chromium-"));
  const { chromium } = await import("playwright-core");
  // A fresh profile directory: playwright passes it to chromium as --user-data-dir.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.stop(true);
  hub?.stop(true);
  await backend?.close();
  ledger?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh page that records console errors and uncaught exceptions. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("response", (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
  });
  return { page, errors };
}

describe.skipIf(!HAVE_CHROMIUM)("dashboard in chromium", () => {
  test("every page loads with no console errors, htmx running", async () => {
    const { page, errors } = await openPage();
    for (
      const [path, title] of [
        ["/", "Overview"],
        ["/chat", "Chat"],
        ["/peers", "Peers"],
        ["/ledger", "Ledger"],
        ["/energy", "Energy"],
        ["/consent", "Consent"],
        ["/models", "Models"],
      ] as const
    ) {
      const res = await page.goto(`${base}${path}`);
      expect(res?.status()).toBe(200);
      expect(await page.locator("h1").textContent()).toBe(title);
      expect(await page.evaluate(() => typeof (globalThis as { htmx?: unknown }).htmx)).toBe(
        "object",
      );
    }
    // every port is wired: no page says the feature is not available
    for (const path of ["/peers", "/ledger", "/energy", "/consent", "/models"]) {
      await page.goto(`${base}${path}`);
      expect(await page.locator(".notice").count()).toBe(0);
    }
    // the overview refreshes its numbers through htmx (one poll, every 2 s)
    await page.goto(`${base}/`);
    await page.waitForRequest((r) => r.headers()["hx-request"] === "true", { timeout: 10_000 });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test(
    "a chat message streams an answer from aria-nano, token by token (keyboard only)",
    async () => {
      const { page, errors } = await openPage();
      await page.goto(`${base}/chat`);
      // count how many times the answer grows: more than once means it streamed. Why 128 tokens:
      // aria-nano makes a few hundred tokens/s, and a busy browser may take several network reads
      // in one task; a longer answer leaves no doubt that it arrived in pieces.
      await page.evaluate(() => {
        const el = document.getElementById("chat-answer")!;
        (globalThis as { __growths?: number }).__growths = 0;
        new MutationObserver(() => (globalThis as { __growths: number }).__growths++)
          .observe(el, { childList: true });
      });
      await page.locator("#chat-message").fill("Once upon a time");
      await page.locator("#chat-max").fill("128");
      await page.locator("#chat-message").focus();
      await page.keyboard.press("Tab"); // to "Most tokens"
      await page.keyboard.press("Tab"); // to "Send"
      await page.keyboard.press("Enter");
      await page.locator("#chat-status", { hasText: "Done" }).waitFor({ timeout: 60_000 });
      const answer = (await page.locator("#chat-answer").textContent()) ?? "";
      const growths = await page.evaluate(() => (globalThis as { __growths?: number }).__growths);
      expect(growths).toBeGreaterThan(1);
      // the same request through the OpenAI API gives the same text (greedy decoding)
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "aria-nano",
          messages: [{ role: "user", content: "Once upon a time" }],
          max_tokens: 128,
          temperature: 0,
        }),
      });
      const api = (await res.json()) as { choices: { message: { content: string } }[] };
      expect(answer.length).toBeGreaterThan(0);
      expect(answer).toBe(api.choices[0]!.message.content);
      expect(await page.locator("#chat-status").textContent()).toContain("served by node-browser");
      expect(errors).toEqual([]);
      await page.close();
    },
    90_000,
  );

  test(
    "models (PORT FAKE over a real local HTTP transfer): a pull shows progress reaching 100%",
    async () => {
      const { page, errors } = await openPage();
      await page.goto(`${base}/models`);
      expect(await page.locator("#installed").textContent()).toContain("No models installed.");
      await page.locator("#pull-name").fill("fake-hub-model");
      await page.locator("#pull-name").press("Enter");
      const row = page.locator("li.pull", { hasText: "fake-hub-model" });
      await row.waitFor();
      const seen = new Set<string>();
      for (let i = 0; i < 600; i++) {
        const state = await row.getAttribute("data-state");
        seen.add((await row.locator("[data-field=pull-percent]").textContent()) ?? "");
        if (state === "done" || state === "failed") break;
        await page.waitForTimeout(50);
      }
      expect(await row.getAttribute("data-state")).toBe("done");
      expect(await row.locator("[data-field=pull-percent]").textContent()).toBe("100%");
      expect(await row.locator("progress").getAttribute("value")).toBe("100");
      expect(seen.size).toBeGreaterThan(1); // it showed progress on the way, not only the end
      // the installed list refreshed itself (HX-Trigger: models-changed)
      await page.locator("#installed", { hasText: "fake-hub-model" }).waitFor({ timeout: 5_000 });
      expect(await page.locator("#installed").textContent()).toContain("3.0 MiB");
      expect(errors).toEqual([]);
      await page.close();
    },
    60_000,
  );

  test(
    "models (PORT FAKE): a running pull can be cancelled with the keyboard while it polls",
    async () => {
      const { page, errors } = await openPage();
      await page.goto(`${base}/models`);
      await page.locator("#pull-name").fill("slow-model");
      await page.locator("#pull-name").press("Enter");
      const row = page.locator("li.pull", { hasText: "slow-model" });
      const cancel = row.locator("button", { hasText: "Cancel" });
      await cancel.focus();
      await page.waitForTimeout(1_200); // two or more polls replace the row meanwhile
      const focused = await page.evaluate(() => document.activeElement?.textContent);
      expect(focused).toBe("Cancel"); // htmx gave the focus back after each swap
      await page.keyboard.press("Enter");
      await row.locator("text=failed: cancelled").waitFor({ timeout: 5_000 });
      expect(await row.getAttribute("data-state")).toBe("failed");
      expect(errors).toEqual([]);
      await page.close();
    },
    30_000,
  );

  test(
    "after a chat message the ledger page shows its new record and the receipt verifies",
    async () => {
      const { page, errors } = await openPage();
      await page.goto(`${base}/chat`);
      await page.locator("#chat-message").fill("The ledger keeps");
      await page.locator("#chat-max").fill("8");
      await page.locator("#chat-form button[type=submit]").click();
      await page.locator("#chat-status", { hasText: "Done" }).waitFor({ timeout: 60_000 });
      // the receipt under the answer is the real one: a record signed by this node's identity
      const receiptText = (await page.locator("#chat-receipt").textContent()) ?? "";
      const receipt = JSON.parse(receiptText) as { record: SignedRecord };
      expect(receipt.record.record.signer).toBe(identity.nodeId);
      const hash = hashRecord(receipt.record.record);
      expect(ledger.store.findRecord(hash)).toBeDefined();
      await page.goto(`${base}/ledger`);
      expect(await page.locator("#ledger-live").textContent()).toContain(hash);
      await page.locator("#receipt").fill(receiptText);
      await page.locator("button", { hasText: "Verify" }).click();
      await page.locator("#verify-result", { hasText: "Valid receipt." }).waitFor();
      expect(await page.locator("#verify-result").textContent()).toContain(hash);
      // one changed character and the same verifier refuses it
      await page.locator("#receipt").fill(receiptText.replace(identity.nodeId, "0".repeat(64)));
      await page.locator("button", { hasText: "Verify" }).click();
      await page.locator("#verify-result", { hasText: "Not valid" }).waitFor();
      expect(errors).toEqual([]);
      await page.close();
    },
    90_000,
  );

  test("consent: an invalid edit is refused with its reason; a valid one round-trips", async () => {
    const { page, errors } = await openPage();
    await page.goto(`${base}/consent`);
    const shown = JSON.parse((await page.locator("#policy").inputValue()) || "{}");
    expect(shown).toEqual(gate.policy);
    const before = readFileSync(consentPath(dataDir), "utf8");
    await page.locator("#policy").fill(JSON.stringify({ ...shown, maxConcurrent: -1 }));
    await page.locator("button", { hasText: "Save policy" }).click();
    await page.locator("#consent-result", { hasText: "Policy not saved" }).waitFor();
    expect(await page.locator("#consent-result").textContent()).toContain("maxConcurrent");
    expect(readFileSync(consentPath(dataDir), "utf8")).toBe(before);
    const next = { ...shown, dailyTokenQuota: 123_456 };
    await page.locator("#policy").fill(JSON.stringify(next, null, 2));
    await page.locator("button", { hasText: "Save policy" }).click();
    await page.locator("#consent-result", { hasText: "Policy saved." }).waitFor();
    expect(gate.policy.dailyTokenQuota).toBe(123_456); // applied to the gate at once
    expect(readPolicy(dataDir, identity)!.policy).toEqual(next); // signed and saved
    await page.reload();
    expect(JSON.parse(await page.locator("#policy-current").textContent() ?? "")).toEqual(next);
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);

  test("a peer id containing markup renders as text (PORT FAKE peers)", async () => {
    const { page, errors } = await openPage();
    await page.goto(`${base}/peers`);
    expect(await page.locator("[data-field=peer-id]").textContent()).toBe(EVIL_PEER);
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.locator("main script").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator("svg.topology text", { hasText: "<img" }).count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);

  test("readable on a phone: no page is wider than a 360 px screen", async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    for (const path of ["/", "/chat", "/peers", "/ledger", "/energy", "/consent", "/models"]) {
      await page.goto(`${base}${path}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect({ path, width }).toEqual({ path, width: 360 });
    }
    await page.close();
  }, 30_000);

  test(
    "usable without a mouse: Tab reaches the skip link, then the pages, with a visible focus",
    async () => {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(
        "Skip to content",
      );
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.getAttribute("href"))).toBe("/");
      const outline = await page.evaluate(() =>
        getComputedStyle(document.activeElement as Element).outlineStyle
      );
      expect(outline).toBe("solid");
      for (let i = 0; i < 2; i++) await page.keyboard.press("Tab"); // Chat, then Peers
      await page.keyboard.press("Enter");
      await page.waitForURL(`${base}/peers`);
      expect(await page.locator("h1").textContent()).toBe("Peers");
      await page.close();
    },
    30_000,
  );
});
