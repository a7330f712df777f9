/**
 * wss:// between two real nodes: a self-signed certificate made with openssl (skipped when openssl
 * is missing); the dialling node trusts it through NODE_TLS_REJECT_UNAUTHORIZED=0, as a test
 * stands in for a real certificate authority.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

const procs = new ProcessGroup();
const openssl = Bun.which("openssl");
afterAll(() => procs.close());

test.skipIf(!openssl)("two nodes connect over wss:// with --p2p-cert/--p2p-key", async () => {
  const cert = join(procs.home, "cert.pem");
  const key = join(procs.home, "key.pem");
  const made = Bun.spawnSync([
    openssl!,
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ], { stderr: "ignore" });
  expect(made.exitCode).toBe(0);
  const a = await procs.serve("a", [
    "--backend",
    "simulation",
    "--p2p-port",
    "0",
    "--p2p-cert",
    cert,
    "--p2p-key",
    key,
  ]);
  expect(a.ws).toStartWith("wss://");
  const b = await procs.serve("b", ["--backend", "simulation", "--peers", a.ws], {
    NODE_TLS_REJECT_UNAUTHORIZED: "0",
  });
  await until(
    async () => (await peers(b)).peers.some((p) => p.id === a.id),
    "b to authenticate a over wss",
  );
  expect((await peers(b)).peers.find((p) => p.id === a.id)!.url).toBe(a.ws);
}, 30_000);
