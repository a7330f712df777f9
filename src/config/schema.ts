/**
 * @module The configuration of `aria serve`: one zod schema with the defaults, and the merge of
 * its sources (flags > ARIA_* environment > config.json in the data dir > defaults). Pure: the
 * shell (load.ts) reads the environment and the file.
 */
import { z } from "zod";
import { energyBaselineSchema } from "../consent/attestation.ts";
import { OUTPUT_HEADS } from "../engine/port.ts";

import { ConfigError } from "./defaults.ts";
export { ConfigError };

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().min(1);

import { DEFAULT_OUTPUT_HEAD } from "./defaults.ts";
export {
  BUILTIN_MODEL_NAME,
  DEFAULT_OUTPUT_HEAD,
  type KvType,
  type OutputHead,
} from "./defaults.ts";

/** Every setting; all optional in a source. */
export const serveConfigSchema = z.object({
  model: z.string().min(1).optional(),
  port: port.default(3000),
  host: z.string().min(1).default("127.0.0.1"),
  /** The peer network starts when this or `peers` is set (src/node/start.ts). */
  p2pPort: port.optional(),
  /** Bootstrap peers: comma-separated ws:// or wss:// URLs. */
  peers: z.string().regex(/^\s*(wss?:\/\/[^\s,]+\s*)(,\s*wss?:\/\/[^\s,]+\s*)*$/, {
    message: "expected comma-separated ws:// or wss:// URLs",
  }).optional(),
  /** More names the node is reached by, comma-separated ("name" or "name:port"): the Host
   * check of the API, dashboard and peer port (issue 19, holes 2 and 4). */
  allowedHosts: z.string().regex(/^[A-Za-z0-9.\-:\[\],\s]*$/, {
    message: "expected comma-separated host names",
  }).optional(),
  /** Origins whose pages may call /v1/* (CORS allow-list), comma-separated; "*" = any. */
  corsOrigins: z.string().regex(
    /^(\s*(\*|https?:\/\/[^\s,/]+)\s*)(,\s*(\*|https?:\/\/[^\s,/]+)\s*)*$/,
    {
      message: 'expected comma-separated origins such as "https://app.example" or "*"',
    },
  ).optional(),
  /** More names the served model answers to (`--alias`), comma-separated: listed by /v1/models
   * and accepted in `model` as the model itself (llama-server's --alias, repeatable here). */
  aliases: z.string().regex(/^\s*[^\s,]{1,128}\s*(,\s*[^\s,]{1,128}\s*)*$/, {
    message: "expected comma-separated model names (no spaces, at most 128 characters each)",
  }).optional(),
  /** PEM certificate and key for a wss:// peer port (both or neither). */
  p2pCert: z.string().min(1).optional(),
  p2pKey: z.string().min(1).optional(),
  threads: positive.optional(),
  ctx: positive.optional(),
  parallel: positive.max(64).default(4),
  queue: z.coerce.number().int().min(0).default(64),
  apiKey: z.string().min(1).optional(),
  backend: z.enum(["native", "external", "simulation"]).default("native"),
  upstream: z.string().url().optional(),
  dataDir: z.string().min(1),
  outputHead: z.enum(OUTPUT_HEADS).default(DEFAULT_OUTPUT_HEAD),
  kvType: z.enum(["f32", "f16"]).default("f32"),
  /** I2_S code layout of the model file (docs/models.md, "I2_S layouts"): x86 (published
   * files) or arm (quantized by an ARM build of bitnet.cpp; nothing in the file says so). */
  i2sLayout: z.enum(["x86", "arm"]).default("x86"),
  /** Repack TQ1_0 weights to TQ2_0 at load (the faster kernels; llama.cpp repacks by default
   * too). --no-repack / ARIA_REPACK=false keeps them as the file has them. */
  repack: z.union([z.boolean(), z.enum(["true", "false", "1", "0"])])
    .transform((v) => v === true || v === "true" || v === "1")
    .default(true),
  /** Package power of all CPUs (W, the maker's TDP) for the energy estimate when RAPL is
   * unreadable; unset = detected from RAPL PL1 or no estimate (docs/consent-energy.md). */
  tdpWatts: z.coerce.number().positive().finite().optional(),
  /** A stated baseline for energy ratings, { name, ujPerToken, source } (config.json only). */
  energyBaseline: energyBaselineSchema.optional(),
  /** Pipeline stage blocks "A-B" / "A-end"; parsed by src/pipeline/layer-range.ts. */
  layers: z.string().regex(/^\s*\d{1,4}-(\d{1,4}|end)\s*$/, 'expected "A-B" or "A-end"').optional(),
  /** Pipeline coordinator: serve the model through the stages peers advertise (--pipeline). */
  pipeline: z.union([z.boolean(), z.enum(["true", "false", "1", "0"])])
    .transform((v) => v === true || v === "true" || v === "1")
    .optional(),
  /** Kernel table of the native engine (--kernels): "auto" = the best this CPU has. Results
   * are bit-identical on every table (numerics contract 2), so this only changes speed. */
  kernels: z.enum(["auto", "ref", "avx2", "avx512", "neon", "avxvnni"]).default("auto"),
  /** Fraction of peers' answers a routing node re-executes (issue 20 audits; new peers more:
   * src/p2p/audit-plan.ts). */
  auditRate: z.coerce.number().min(0).max(1).default(0.05),
  /** TEST ONLY (env ARIA_TEST_ONLY_CHEAT_AFTER, no flag, never in config.json docs): a node that
   * perturbs every output token after the first N of each answer it serves to a peer, and signs
   * the perturbed answer, so the audit tests have a cheater (tests/p2p/audit.test.ts). */
  testOnlyCheatAfter: z.coerce.number().int().min(0).optional(),
  /** Relay for peers that cannot be dialled (--relay); its limits are the consent policy's
   * relay-limits (src/p2p/relay). */
  relay: z.union([z.boolean(), z.enum(["true", "false", "1", "0"])])
    .transform((v) => v === true || v === "true" || v === "1")
    .optional(),
  /** Accept peer connections (default). --no-listen: dial out only, as a node behind NAT; it
   * serves over the connections it made and through a relay. */
  listen: z.union([z.boolean(), z.enum(["true", "false", "1", "0"])])
    .transform((v) => v === true || v === "true" || v === "1")
    .optional(),
  /** Find peers on the local network by UDP multicast (--lan-discovery; opt-in). */
  lanDiscovery: z.union([z.boolean(), z.enum(["true", "false", "1", "0"])])
    .transform((v) => v === true || v === "true" || v === "1")
    .optional(),
  /** Tests only (ARIA_TEST_RELAY_TAMPER=1, no flag): as a relay, change one character of every
   * frame forwarded, so tests can show that the ends notice. */
  testRelayTamper: z.union([z.boolean(), z.enum(["true", "false", "1", "0"])])
    .transform((v) => v === true || v === "true" || v === "1")
    .optional(),
}).strict();

/** The validated configuration. */
export type ServeConfig = z.infer<typeof serveConfigSchema>;

/** One source's raw values (strings from flags and env, JSON values from the file). */
export type ConfigSource = Readonly<Record<string, unknown>>;

/** Names of the ARIA_* variables, by setting. */
export const ENV_NAMES: Readonly<Record<string, string>> = {
  model: "ARIA_MODEL",
  port: "ARIA_PORT",
  host: "ARIA_HOST",
  p2pPort: "ARIA_P2P_PORT",
  peers: "ARIA_PEERS",
  allowedHosts: "ARIA_ALLOWED_HOSTS",
  corsOrigins: "ARIA_CORS_ORIGINS",
  aliases: "ARIA_ALIASES",
  p2pCert: "ARIA_P2P_CERT",
  p2pKey: "ARIA_P2P_KEY",
  threads: "ARIA_THREADS",
  ctx: "ARIA_CTX",
  parallel: "ARIA_PARALLEL",
  queue: "ARIA_QUEUE",
  apiKey: "ARIA_API_KEY",
  backend: "ARIA_BACKEND",
  upstream: "ARIA_UPSTREAM",
  outputHead: "ARIA_OUTPUT_HEAD",
  kvType: "ARIA_KV_TYPE",
  i2sLayout: "ARIA_I2S_LAYOUT",
  repack: "ARIA_REPACK",
  tdpWatts: "ARIA_TDP_WATTS",
  layers: "ARIA_LAYERS",
  pipeline: "ARIA_PIPELINE",
  kernels: "ARIA_KERNELS",
  auditRate: "ARIA_AUDIT_RATE",
  testOnlyCheatAfter: "ARIA_TEST_ONLY_CHEAT_AFTER",
  relay: "ARIA_RELAY",
  listen: "ARIA_LISTEN",
  lanDiscovery: "ARIA_LAN_DISCOVERY",
  testRelayTamper: "ARIA_TEST_RELAY_TAMPER",
};

/**
 * Picks the ARIA_* settings out of an environment.
 *
 * @param env the environment.
 * @returns the settings present (empty strings ignored).
 */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): ConfigSource {
  const out: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const v = env[name];
    if (v !== undefined && v !== "") out[key] = v;
  }
  return out;
}

/**
 * Merges the sources and validates.
 *
 * @param sources highest precedence first (flags, env, file); undefined values are skipped.
 * @param dataDir the data directory (already resolved from flags / ARIA_HOME / default).
 * @returns the configuration.
 * @throws {ConfigError} naming the first bad field.
 */
export function resolveConfig(sources: readonly ConfigSource[], dataDir: string): ServeConfig {
  const merged: Record<string, unknown> = {};
  for (const source of [...sources].reverse()) {
    for (const [k, v] of Object.entries(source)) if (v !== undefined) merged[k] = v;
  }
  merged["dataDir"] = dataDir;
  const parsed = serveConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(
      `Invalid configuration "${issue.path.join(".")}": ${issue.message}`,
      { cause: parsed.error },
    );
  }
  const config = parsed.data;
  if (config.backend === "external" && config.upstream === undefined) {
    throw new ConfigError("Missing --upstream: --backend external needs the upstream server URL");
  }
  if ((config.p2pCert === undefined) !== (config.p2pKey === undefined)) {
    throw new ConfigError("Missing --p2p-cert or --p2p-key: a wss:// peer port needs both");
  }
  // handled here: the two pipeline roles exclude each other, and a coordinator needs peers
  if (config.pipeline === true && config.layers !== undefined) {
    throw new ConfigError(
      "Cannot use --pipeline with --layers: a node is either the coordinator or a stage",
    );
  }
  if (config.pipeline === true && config.p2pPort === undefined && config.peers === undefined) {
    throw new ConfigError(
      "Missing --peers: --pipeline finds its stages on the peer network (give --peers or --p2p-port)",
    );
  }
  return config;
}
