/**
 * @module The dashboard of real `aria serve` processes, as a user starts them (README: `bun
 * src/main.ts serve`, the built-in aria-nano, a new data dir), driven by chromium
 * (playwright-core, Debian's /usr/bin/chromium, a new empty profile). Nothing of the node is
 * built in-process: the node is the child process, reached only through HTTP and the browser
 * (tests/browser/dashboard.test.ts complements this with an in-process node for what a real one
 * cannot show: a peer id containing markup, a model pull that succeeds from a fake hub).
 *
 * One node: every page loads (200, no console error, no failed request), fresh; then chats
 * through the dashboard and through the API with the `openai` client, both receipts checked by the
 * Ledger page's form; a consent edit through the Consent form that the running node applies at
 * once (a refused model, then allowed again); the Models page's actions that need no network
 * (an unknown name, a model without a known hash, a pull from a local fake hub given as
 * HF_ENDPOINT that fails its size check, deleting the built-in model refused, deleting an
 * installed file); every page again. Two nodes as peers (README "Peer network": one with
 * aria-nano and --p2p-port, one --backend simulation with --peers): every page of both, the
 * peers pages show each other, a chat on the second is answered by the first, whose Ledger page
 * verifies the receipt. Each node then stops on SIGTERM with exit code 0 and a log with no error
 * line. Without chromium the tests skip with a message (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import type { BrowserContext, Page } from "playwright-core";
import { badLogLines, type ServeProc, startServe } from "../helpers/aria-serve.ts";
import { testModel } from "../helpers/models.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}
const ROOT = join(import.meta.dir, "..", "..");

/** Every dashboard page (src/dashboard/routes.ts, _models.ts) and its heading. */
const PAGES = [
  ["/", "Overview"],
  ["/chat", "Chat"],
  ["/peers", "Peers"],
  ["/ledger", "Ledger"],
  ["/energy", "Energy"],
  ["/consent", "Consent"],
  ["/models", "Models"],
] as const;

let browser: BrowserContext;
const temps: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  const { chromium } = await import("playwright-core");
  // a new empty profile: playwright passes it to chromium as --user-data-dir
  browser = await chromium.launchPersistentContext(tempDir("aria-e2e-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A fresh page recording console errors, uncaught exceptions and failed responses. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
  });
  return { page, errors };
}

/**
 * Loads every page: 200, its heading, htmx running; `unavailable` lists the pages expected to say
 * their feature is off on this node (class "notice"), every other page must not.
 */
async function everyPageLoads(base: string, unavailable: readonly string[]): Promise<void> {
  const { page, errors } = await openPage();
  for (const [path, title] of PAGES) {
    const res = await page.goto(`${base}${path}`);
    expect({ path, status: res?.status() }).toEqual({ path, status: 200 });
    expect(await page.locator("h1").textContent()).toBe(title);
    expect(await page.evaluate(() => typeof (globalThis as { htmx?: unknown }).htmx)).toBe(
      "object",
    );
    const notices = await page.locator("main .notice").count();
    expect({ path, notice: notices > 0 }).toEqual({ path, notice: unavailable.includes(path) });
    await page.waitForLoadState("networkidle");
  }
  expect(errors).toEqual([]);
  await page.close();
}

/** Sends a message from the Chat page; returns the answer, the status line and the receipt. */
async function dashboardChat(
  base: string,
  message: string,
  model = "aria-nano",
): Promise<{ answer: string; status: string; receipt: string }> {
  const { page, errors } = await openPage();
  await page.goto(`${base}/chat`);
  await page.locator("#chat-model").selectOption(model, { timeout: 10_000 });
  await page.locator("#chat-message").fill(message);
  await page.locator("#chat-max").fill("12");
  await page.locator("#chat-form button[type=submit]").click();
  await page.locator("#chat-status", { hasText: "Done" }).waitFor({ timeout: 60_000 });
  const out = {
    answer: (await page.locator("#chat-answer").textContent()) ?? "",
    status: (await page.locator("#chat-status").textContent()) ?? "",
    receipt: (await page.locator("#chat-receipt").textContent()) ?? "",
  };
  expect(errors).toEqual([]);
  await page.close();
  return out;
}

/** Pastes a receipt into the Ledger page's form; returns what the page answers. */
async function verifyOnLedgerPage(base: string, receipt: string): Promise<string> {
  const { page, errors } = await openPage();
  await page.goto(`${base}/ledger`);
  await page.locator("#receipt").fill(receipt);
  await page.locator("button", { hasText: "Verify" }).click();
  await page.locator("#verify-result :first-child").waitFor();
  const text = (await page.locator("#verify-result").textContent()) ?? "";
  expect(errors).toEqual([]);
  await page.close();
  return text;
}

/** Submits a policy JSON through the Consent page's form; returns the result line. */
async function saveConsent(base: string, edit: (p: Record<string, unknown>) => unknown) {
  const { page, errors } = await openPage();
  await page.goto(`${base}/consent`);
  const shown = JSON.parse(await page.locator("#policy").inputValue()) as Record<string, unknown>;
  await page.locator("#policy").fill(JSON.stringify(edit(shown), null, 2));
  await page.locator("button", { hasText: "Save policy" }).click();
  await page.locator("#consent-result :first-child").waitFor();
  const result = (await page.locator("#consent-result").textContent()) ?? "";
  expect(errors).toEqual([]);
  await page.close();
  return { shown, result };
}

/** Stops a node: exit code 0 on SIGTERM and no error line in its log. */
async function stopsCleanly(node: ServeProc): Promise<void> {
  const { code, stderr } = await node.stop();
  expect(badLogLines(stderr)).toEqual([]);
  expect(code).toBe(0);
}

describe.skipIf(!HAVE_CHROMIUM)("one aria serve as npm start runs it, in chromium", () => {
  let node: ServeProc;
  let dataDir = "";
  let hub: ReturnType<typeof Bun.serve>;
  const hubRequests: string[] = [];

  beforeAll(async () => {
    // a local fake hub: every file is 1 MiB of 7s (no registry model has that size or hash)
    hub = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        hubRequests.push(new URL(req.url).pathname);
        return new Response(new Uint8Array(1 << 20).fill(7));
      },
    });
    dataDir = tempDir("aria-e2e-node-");
    // an extra model file installed by hand (a generated test model), to delete from the page
    mkdirSync(join(dataDir, "models"));
    const extra = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
    copyFileSync(extra, join(dataDir, "models", "extra-test-model.gguf"));
    node = await startServe(["--port", "0", "--data-dir", dataDir], {
      HF_ENDPOINT: `http://127.0.0.1:${hub.port}`,
    });
  }, 120_000);

  afterAll(() => hub?.stop(true));

  test(
    "a fresh node: every page loads with no console error (Peers: no peer network)",
    async () => {
      await everyPageLoads(node.url, ["/peers"]);
    },
    60_000,
  );

  test("a dashboard chat streams an answer whose receipt the Ledger page verifies", async () => {
    const chat = await dashboardChat(node.url, "The jury said");
    expect(chat.answer.length).toBeGreaterThan(0);
    expect(chat.status).toContain(`served by ${node.nodeId}`);
    const receipt = JSON.parse(chat.receipt) as { record: { record: { signer: string } } };
    expect(receipt.record.record.signer).toBe(node.nodeId);
    expect(await verifyOnLedgerPage(node.url, chat.receipt)).toContain("Valid receipt.");
    // one changed character and the page refuses it
    const forged = chat.receipt.replace(node.nodeId, "0".repeat(64));
    expect(await verifyOnLedgerPage(node.url, forged)).toContain("Not valid");
  }, 90_000);

  test("the openai client: chat, streamed chat and model list; the receipt verifies", async () => {
    const client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain("aria-nano");
    const messages = [{ role: "user" as const, content: "The jury said" }];
    const whole = await client.chat.completions.create({
      model: "aria-nano",
      messages,
      max_tokens: 12,
      temperature: 0,
    });
    const text = whole.choices[0]!.message.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({
      model: "aria-nano",
      messages,
      max_tokens: 12,
      temperature: 0,
      stream: true,
    });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? "";
    expect(streamed).toBe(text); // greedy: the same tokens either way
    const provenance = (whole as unknown as { provenance?: unknown }).provenance;
    expect(provenance).toBeDefined();
    expect(await verifyOnLedgerPage(node.url, JSON.stringify(provenance))).toContain(
      "Valid receipt.",
    );
  }, 90_000);

  test(
    "a consent edit through the form is refused when invalid, applied at once when valid",
    async () => {
      const client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const ask = () =>
        client.chat.completions.create({
          model: "aria-nano",
          messages: [{ role: "user", content: "Hi" }],
          max_tokens: 2,
        });
      const bad = await saveConsent(node.url, (p) => ({ ...p, maxConcurrent: -1 }));
      expect(bad.result).toContain("Policy not saved");
      expect(bad.result).toContain("maxConcurrent");
      const original = bad.shown;
      const refuse = await saveConsent(node.url, (p) => ({ ...p, models: ["some-other-model"] }));
      expect(refuse.result).toContain("Policy saved.");
      const refused = await ask().then(() => null, (e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError); // 403 CONSENT_DENIED
      const restore = await saveConsent(node.url, () => original);
      expect(restore.result).toContain("Policy saved.");
      expect((await ask()).choices.length).toBe(1);
      // the signed file says the same as the page: read through the CLI
      const show = Bun.spawnSync([process.execPath, "src/main.ts", "consent", "show", "--json"], {
        cwd: ROOT,
        env: { ...process.env, ARIA_HOME: dataDir },
      });
      expect(show.exitCode).toBe(0);
      expect(show.stdout.toString()).toContain('"maxConcurrent"');
      // first start + two saved edits: three policy records on the Ledger page
      const ledger = await (await fetch(`${node.url}/ledger`)).text();
      expect(ledger.match(/consent policy changed/g)?.length).toBe(3);
    },
    90_000,
  );

  test(
    "models page: pulls that cannot succeed fail with their reason; deletes work or are refused",
    async () => {
      const { page, errors } = await openPage();
      await page.goto(`${node.url}/models`);
      const pull = async (name: string) => {
        await page.locator("#pull-name").fill(name);
        await page.locator("#pull-name").press("Enter");
        const row = page.locator("li.pull", { hasText: name }).last();
        await row.locator("xpath=self::*[@data-state='failed']").waitFor({ timeout: 30_000 });
        return (await row.textContent()) ?? "";
      };
      expect(await pull("no-such-model")).toContain('Unknown model "no-such-model"');
      expect(await pull("falcon3-10b")).toContain("ARIA does not know its SHA-256");
      // a registry model from the fake hub (HF_ENDPOINT): the bytes are checked and refused
      const served = createHash("sha256").update(new Uint8Array(1 << 20).fill(7)).digest("hex");
      const failed = await pull("falcon3-1b");
      expect(failed).toContain(`SHA-256 mismatch: got ${served}`);
      expect(failed).toContain("nothing was installed");
      expect(hubRequests.some((p) => p.endsWith("/ggml-model-i2_s.gguf"))).toBe(true);
      const installed = page.locator("#installed");
      expect(await installed.textContent()).not.toContain("falcon3-1b");
      expect(readdirSync(join(dataDir, "models")).filter((f) => f.endsWith(".gguf"))).toEqual([
        "extra-test-model.gguf",
      ]);
      await page.locator("button[aria-label='Delete aria-nano']").click();
      await installed.locator("text=Not deleted").waitFor();
      expect(await installed.textContent()).toContain("aria-nano");
      await page.locator("button[aria-label='Delete extra-test-model.gguf']").click();
      await installed.locator("text=extra-test-model.gguf").waitFor({ state: "detached" });
      expect(existsSync(join(dataDir, "models", "extra-test-model.gguf"))).toBe(false);
      expect(errors).toEqual([]);
      await page.close();
    },
    90_000,
  );

  test("after chats, a consent edit and model actions every page still loads", async () => {
    await everyPageLoads(node.url, ["/peers"]);
    const energy = await (await fetch(`${node.url}/energy`)).text();
    expect(energy).not.toContain("undefined");
  }, 60_000);

  test("the node stops on SIGTERM with exit code 0 and no error in its log", async () => {
    await stopsCleanly(node);
  }, 30_000);
});

describe.skipIf(!HAVE_CHROMIUM)("two aria serve nodes as peers (README), in chromium", () => {
  let worker: ServeProc;
  let router: ServeProc;

  beforeAll(async () => {
    worker = await startServe(["--p2p-port", "0", "--port", "0", "--data-dir", tempDir("aria-a-")]);
    router = await startServe([
      "--backend",
      "simulation",
      "--peers",
      worker.p2pUrl!,
      "--port",
      "0",
      "--data-dir",
      tempDir("aria-b-"),
    ]);
    // the router knows the worker once the handshake is done
    for (let i = 0; i < 100; i++) {
      const peers = await (await fetch(`${router.url}/v1/aria/peers`)).text();
      if (peers.includes(worker.nodeId)) return;
      await Bun.sleep(200);
    }
    throw new Error("the second node never listed the first as a peer");
  }, 120_000);

  test("every page of both nodes loads; the simulation node keeps no ledger", async () => {
    await everyPageLoads(worker.url, []);
    await everyPageLoads(router.url, ["/ledger", "/energy"]);
  }, 90_000);

  test("each Peers page shows the other node", async () => {
    for (const [node, other] of [[worker, router], [router, worker]] as const) {
      const { page, errors } = await openPage();
      await page.goto(`${node.url}/peers`);
      await page.locator("[data-field=peer-id]", { hasText: other.nodeId }).waitFor({
        timeout: 20_000,
      });
      expect(errors).toEqual([]);
      await page.close();
    }
  }, 60_000);

  test(
    "a chat on the second node is answered by the first, whose Ledger page verifies it",
    async () => {
      const chat = await dashboardChat(router.url, "The jury said");
      expect(chat.answer.length).toBeGreaterThan(0);
      expect(chat.answer).not.toContain("[simulation]");
      expect(chat.status).toContain(`served by ${worker.nodeId}`);
      expect(await verifyOnLedgerPage(worker.url, chat.receipt)).toContain("Valid receipt.");
    },
    90_000,
  );

  test("both stop on SIGTERM with exit code 0 and no error in their logs", async () => {
    await stopsCleanly(router);
    await stopsCleanly(worker);
  }, 30_000);
});
