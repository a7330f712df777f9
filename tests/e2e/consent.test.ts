/**
 * `aria serve` with a consent policy, as a real process (simulation backend): a request outside
 * the policy is refused with 403 CONSENT_DENIED, one inside it is served; a broken policy file
 * stops the server from starting.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listeningUrl } from "../helpers/serve-proc.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = process.execPath;
const dir = mkdtempSync(join(tmpdir(), "aria-consent-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function aria(args: string[]) {
  return Bun.spawnSync([BUN, "src/main.ts", ...args, "--data-dir", dir], { cwd: ROOT });
}

async function serve(): Promise<{ proc: ReturnType<typeof Bun.spawn>; url: string }> {
  const proc = Bun.spawn(
    [BUN, "src/main.ts", "serve", "--backend", "simulation", "--port", "0", "--data-dir", dir],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  return { proc, url: await listeningUrl(proc) };
}

const post = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("aria serve enforces the consent policy", () => {
  test("chat refused (403), completion served", async () => {
    expect(aria(["consent", "set", "kinds", "completion"]).exitCode).toBe(0);
    const { proc, url } = await serve();
    try {
      const chat = { model: "simulation", messages: [{ role: "user", content: "Hi" }] };
      const denied = await fetch(`${url}/v1/chat/completions`, post(chat));
      expect(denied.status).toBe(403);
      expect(((await denied.json()) as { error: { code: string } }).error.code)
        .toBe("CONSENT_DENIED");
      const ok = await fetch(`${url}/v1/completions`, post({ model: "simulation", prompt: "Hi" }));
      expect(ok.status).toBe(200);
    } finally {
      proc.kill();
      await proc.exited;
    }
  });
  test("a corrupt policy file stops the start with what to do", () => {
    writeFileSync(join(dir, "consent.json"), "{}");
    const r = Bun.spawnSync(
      [BUN, "src/main.ts", "serve", "--backend", "simulation", "--port", "0", "--data-dir", dir],
      { cwd: ROOT },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("move it away to start again from the default policy");
  });
});
