/**
 * @module The dashboard chat's JSON answers in chromium (playwright-core, Debian's
 * /usr/bin/chromium, a new empty profile) against a real `aria serve` (the built-in aria-nano,
 * a fresh data dir): "JSON matching the schema below" with a pasted schema answers JSON that
 * parses and validates under ajv; "JSON (any object)" answers an object; a schema that is not
 * JSON, and one with a keyword the converter cannot enforce, are reported in the status line and
 * nothing is generated. aria-nano is a tiny model: the constraint, not the model, makes the
 * answer valid. Without chromium the tests skip with a message (.ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import type { BrowserContext, Page } from "playwright-core";
import { badLogLines, type ServeProc, startServe } from "../helpers/aria-serve.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const SCHEMA = {
  type: "object",
  properties: {
    verdict: { enum: ["guilty", "not guilty"] },
    votes: { type: "integer", minimum: 0, maximum: 12 },
    unanimous: { type: "boolean" },
  },
  required: ["verdict", "votes", "unanimous"],
  additionalProperties: false,
};

let browser: BrowserContext;
let node: ServeProc;
const temps: string[] = [];

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  const profile = mkdtempSync(join(tmpdir(), "aria-e2e-chromium-"));
  const dataDir = mkdtempSync(join(tmpdir(), "aria-e2e-json-chat-"));
  temps.push(profile, dataDir);
  node = await startServe(["--port", "0", "--data-dir", dataDir]);
  const { chromium } = await import("playwright-core");
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (node) {
    const { code, stderr } = await node.stop();
    expect(code).toBe(0);
    expect(badLogLines(stderr)).toEqual([]);
  }
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Sends a message from the Chat page with an output format; returns answer and status. */
async function chatAs(
  format: "json" | "schema",
  schema: string,
  until: string,
): Promise<{ answer: string; status: string; errors: string[] }> {
  const page: Page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  await page.goto(`${node.url}/chat`);
  await page.locator("#chat-model").selectOption("aria-nano", { timeout: 10_000 });
  await page.locator("#chat-message").fill("The jury said");
  await page.locator("#chat-max").fill("64");
  await page.locator("#chat-format").selectOption(format);
  await page.locator("#chat-schema").fill(schema);
  await page.locator("#chat-form button[type=submit]").click();
  await page.locator("#chat-status", { hasText: until }).waitFor({ timeout: 60_000 });
  const out = {
    answer: (await page.locator("#chat-answer").textContent()) ?? "",
    status: (await page.locator("#chat-status").textContent()) ?? "",
    errors,
  };
  await page.close();
  return out;
}

describe.skipIf(!HAVE_CHROMIUM)("the dashboard chat answers JSON (aria serve, chromium)", () => {
  test("JSON matching a pasted schema: the answer parses and validates", async () => {
    const chat = await chatAs("schema", JSON.stringify(SCHEMA, null, 2), "Done");
    expect(chat.errors).toEqual([]);
    expect(chat.status).toContain("Done (stop");
    const validate = new Ajv2020().compile(SCHEMA);
    const value: unknown = JSON.parse(chat.answer);
    expect(validate.errors ?? []).toEqual([]);
    expect({ value, valid: validate(value) }).toEqual({ value, valid: true });
  }, 90_000);

  test("JSON (any object): the answer is a JSON object or cut off by the token limit", async () => {
    const chat = await chatAs("json", "", "Done");
    expect(chat.answer.trimStart()).toStartWith("{");
    if (chat.status.includes("Done (stop")) {
      const value: unknown = JSON.parse(chat.answer);
      expect(typeof value).toBe("object");
    } else {
      expect(chat.status).toContain("Done (length");
    }
  }, 90_000);

  test("a schema that is not JSON, or not enforceable, is reported in the page", async () => {
    const bad = await chatAs("schema", '{"type": "object",', "Error");
    expect(bad.status).toContain("Error: The JSON schema is not valid JSON");
    expect(bad.answer).toBe("");
    const unsupported = await chatAs("schema", '{"type":"string","pattern":"^a+$"}', "Error");
    expect(unsupported.status).toContain("The JSON schema cannot be used");
    expect(unsupported.status).toContain("pattern");
  }, 90_000);
});
