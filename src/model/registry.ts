/**
 * @module The registry of models ARIA knows by name: where each GGUF lives on the Hugging Face
 * hub (repo, revision, file), what it is (architecture, license) and what the downloaded bytes
 * must be (size, SHA-256 = the file's Git LFS oid). Pure: data and lookups only; the
 * downloader (download.ts) and the CLI (cli/model.ts) act on it.
 *
 * Sources of the facts (checked 2026-11, see the `source` field of each entry):
 * - microsoft/bitnet-b1.58-2B-4T-gguf: size and SHA-256 from docs/formats.md §6 (two
 *   independent dumps agree; a mirror of the same file on the hub shows the same LFS SHA-256).
 * - tiiuae/Falcon3-{1B,3B,7B}-Instruct-1.58bit-GGUF: SHA-256 from the hub's "Git LFS Details"
 *   of each file page; the hub shows only a rounded size ("1.36 GB"), so the exact byte count
 *   is unknown and left undefined (the hash still pins the content).
 * - tiiuae/Falcon3-10B-Instruct-1.58bit-GGUF: no hash could be found; `sha256` is undefined,
 *   so `aria model pull` refuses it unless the user passes --no-verify.
 * - tiiuae/Falcon-E-{1B,3B}-Instruct-GGUF (checked 2026-12): the 3B repo and its file
 *   `ggml-model-i2_s.gguf` are named on its model card; the 1B repo follows the same pattern in
 *   bitnet.cpp's setup_env.py list (tiiuae/Falcon-E-1B-Instruct) but its GGUF page was not seen.
 *   No size or hash was found for either: `sha256` undefined, pull refuses without --no-verify.
 * - microsoft/bitnet-embedding-0.6b (checked 2026-12): repo and file name from the hub's generated
 *   usage snippet on the model page (llama-cpp-python `filename=`); the license (MIT) and the
 *   architecture (qwen3 with per-projection input norms, I2_S projections, last pooling) from
 *   microsoft/BitNet's docs/bitnet-embeddings-*.md and its converter. No size or hash was found.
 *   The 270M model (gemma3) has no entry: ARIA refuses its architecture (docs/models.md).
 * - Ternary Bonsai (prism-ml/Ternary-Bonsai-{1.7B,4B,8B}-gguf, Ternary-Bonsai-27B / -2-*): no entry.
 *   The official files use PrismML's own tensor types (Q2_0 as type id 42, Q2_0_g64, PQ2_0 and
 *   PTQ1_0 with a rotated basis and a run-time Walsh-Hadamard transform), which ggml and ARIA do
 *   not have; the community TQ2_0 conversions mentioned on public pages name no repository that
 *   could be checked (docs/models.md "Ternary Bonsai files").
 * Commits: no public source seen gives the commit of any of these files, so no entry pins one
 * (`revision` undefined: fetched at "main"). A known SHA-256 still pins the content: a re-upload at
 * "main" then fails the hash check (download.ts says so) instead of installing other bytes.
 * Nothing here is invented: an unknown value is `undefined`, never a guess; `verified` says
 * what was checked and how.
 */

/** The built-in model's name (its entry is `builtin`; src/model/builtin.ts resolves it). */
export { BUILTIN_MODEL_NAME } from "../config/defaults.ts";

/** One model the registry knows. */
export interface RegistryEntry {
  /** Canonical name, used for the installed file (`<data dir>/models/<name>.gguf`). */
  readonly name: string;
  /** Other names accepted everywhere a name is (`aria-2b-1bit`). */
  readonly aliases: readonly string[];
  /** One line for `aria model list`. */
  readonly description: string;
  /** Hugging Face repository ("owner/name"); undefined for the built-in model. */
  readonly repo?: string;
  /** The Git revision the file is fetched at: a commit (40 hex digits) when a public source gives
   * it, so a re-upload cannot change the bytes; undefined: "main" (see {@link entryRevision}). */
  readonly revision?: string;
  /** File path inside the repository. */
  readonly file?: string;
  /** Exact size in bytes, when known. */
  readonly size?: number;
  /** The size as the hub displays it, when the exact size is unknown ("1.36 GB"). */
  readonly sizeText?: string;
  /** SHA-256 of the file (lowercase hex), when known; undefined = cannot be verified. */
  readonly sha256?: string;
  /** `general.architecture` of the GGUF. */
  readonly arch: string;
  /** Ternary tensor type of the GGUF. */
  readonly ternaryType: string;
  /** License identifier of the weights. */
  readonly license: string;
  /** Where the size and hash come from. */
  readonly source: string;
  /** What was verified about this entry, how, and what is unknown (every REGISTRY entry has it;
   * optional for entries made elsewhere, e.g. test fixtures). */
  readonly verified?: string;
  /** True for the model embedded in the executable (never downloaded). */
  readonly builtin?: boolean;
}

const FALCON_LICENSE = "falcon-llm-license (TII Falcon License 2.0)";

/** Every known model, in the order `aria model list` shows them. */
export const REGISTRY: readonly RegistryEntry[] = [
  {
    name: "aria-nano",
    aliases: ["nano"],
    description: "ARIA's built-in demo model (6 layers x 256), trained on the Brown corpus",
    arch: "bitnet",
    ternaryType: "TQ2_0",
    license: "MIT",
    source: "embedded in the executable (docs/aria-nano.md)",
    verified: "built in: no download",
    builtin: true,
  },
  {
    name: "bitnet-b1.58-2b-4t",
    aliases: ["aria-2b-1bit", "bitnet-2b"],
    description: "Microsoft BitNet b1.58 2B-4T, the official bitnet.cpp I2_S file",
    repo: "microsoft/bitnet-b1.58-2B-4T-gguf",
    file: "ggml-model-i2_s.gguf",
    size: 1_187_801_280,
    sha256: "4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c2162",
    arch: "bitnet-b1.58",
    ternaryType: "I2_S",
    license: "MIT",
    source: "docs/formats.md §6; hub LFS SHA-256 of the same file",
    verified:
      "size and SHA-256 from two independent dumps and the hub's LFS details; commit unknown",
  },
  {
    name: "falcon3-1b-1.58bit",
    aliases: ["falcon3-1b", "Falcon3-1B-Instruct-1.58bit"],
    description: "TII Falcon3 1B Instruct, 1.58-bit (bitnet.cpp I2_S)",
    repo: "tiiuae/Falcon3-1B-Instruct-1.58bit-GGUF",
    file: "ggml-model-i2_s.gguf",
    sizeText: "1.36 GB",
    sha256: "0ecef8ad9bcb1b7d3b73bac7b0237daf2faa962b60cbbaf62c86ff51a39444b4",
    arch: "llama",
    ternaryType: "I2_S",
    license: FALCON_LICENSE,
    source: "hub file page, Git LFS details",
    verified: "SHA-256 from the hub's LFS details; exact size and commit unknown",
  },
  {
    name: "falcon3-3b-1.58bit",
    aliases: ["falcon3-3b", "Falcon3-3B-Instruct-1.58bit"],
    description: "TII Falcon3 3B Instruct, 1.58-bit (bitnet.cpp I2_S)",
    repo: "tiiuae/Falcon3-3B-Instruct-1.58bit-GGUF",
    file: "ggml-model-i2_s.gguf",
    sizeText: "2.22 GB",
    sha256: "2ee9723dc1abcc53f231ef1637bdd7c1ec1dbaf132c2c59873100cfb48b41455",
    arch: "llama",
    ternaryType: "I2_S",
    license: FALCON_LICENSE,
    source: "hub file page, Git LFS details",
    verified: "SHA-256 from the hub's LFS details; exact size and commit unknown",
  },
  {
    name: "falcon3-7b-1.58bit",
    aliases: ["falcon3-7b", "Falcon3-7B-Instruct-1.58bit"],
    description: "TII Falcon3 7B Instruct, 1.58-bit (bitnet.cpp I2_S)",
    repo: "tiiuae/Falcon3-7B-Instruct-1.58bit-GGUF",
    file: "ggml-model-i2_s.gguf",
    sizeText: "3.28 GB",
    sha256: "612ab67d4c5fb77d9f810eb521eb4a477dae46df1a85ca501018490e2dac35c6",
    arch: "llama",
    ternaryType: "I2_S",
    license: FALCON_LICENSE,
    source: "hub file page, Git LFS details",
    verified: "SHA-256 from the hub's LFS details; exact size and commit unknown",
  },
  {
    name: "falcon3-10b-1.58bit",
    aliases: ["falcon3-10b", "Falcon3-10B-Instruct-1.58bit"],
    description: "TII Falcon3 10B Instruct, 1.58-bit (bitnet.cpp I2_S); hash unknown",
    repo: "tiiuae/Falcon3-10B-Instruct-1.58bit-GGUF",
    file: "ggml-model-i2_s.gguf",
    arch: "llama",
    ternaryType: "I2_S",
    license: FALCON_LICENSE,
    source: "repo and file named in ik_llama.cpp PR #169; size and SHA-256 not found",
    verified: "repo and file name only; size, SHA-256 and commit unknown",
  },
  {
    name: "falcon-e-3b-instruct",
    aliases: ["falcon-e-3b"],
    description: "TII Falcon-E 3B Instruct (Falcon Edge), 1.58-bit (bitnet.cpp I2_S); hash unknown",
    repo: "tiiuae/Falcon-E-3B-Instruct-GGUF",
    file: "ggml-model-i2_s.gguf",
    arch: "llama",
    ternaryType: "I2_S",
    license: FALCON_LICENSE,
    source: "repo and file from the model card (huggingface-cli download line)",
    verified:
      "repo and file name from the model card; arch llama and pre-tokenizer falcon_e from " +
      "bitnet.cpp's converter (Falcon models go through its LlamaModel), not from the file; " +
      "size, SHA-256 and commit unknown",
  },
  {
    name: "falcon-e-1b-instruct",
    aliases: ["falcon-e-1b"],
    description: "TII Falcon-E 1B Instruct (Falcon Edge), 1.58-bit (bitnet.cpp I2_S); hash unknown",
    repo: "tiiuae/Falcon-E-1B-Instruct-GGUF",
    file: "ggml-model-i2_s.gguf",
    arch: "llama",
    ternaryType: "I2_S",
    license: FALCON_LICENSE,
    source:
      "bitnet.cpp setup_env.py lists tiiuae/Falcon-E-1B-Instruct; GGUF repo by the 3B's pattern",
    verified:
      "the GGUF repo name follows the 3B card's pattern and was not seen on a public page; " +
      "size, SHA-256 and commit unknown",
  },
  {
    name: "bitnet-embedding-0.6b",
    aliases: ["bitnet-embeddings-0.6b"],
    description:
      "Microsoft BitNet embedding 0.6B (Qwen3-based, 1024-d vectors, last pooling); hash unknown",
    repo: "microsoft/bitnet-embedding-0.6b",
    file: "bitnet-embeddings-0.6b-bf16-i2_s.gguf",
    arch: "qwen3",
    ternaryType: "I2_S",
    license: "MIT",
    source:
      "repo and file from the hub's usage snippet on the model page; architecture and license " +
      "from microsoft/BitNet docs/bitnet-embeddings-qwen3-gguf-conversion.md and its converter",
    verified:
      "the file was not downloaded: its keys and tensors are what microsoft/BitNet's converter " +
      'writes (checked against ARIA on generated files with those keys and shapes); the "bf16" ' +
      "in the name may mean BF16 norms, which ARIA reads too; size, SHA-256 and commit unknown",
  },
];

/**
 * The revision a registry file is fetched at: its pinned commit, else "main".
 *
 * @param entry the model.
 * @returns A commit or "main".
 */
export function entryRevision(entry: RegistryEntry): string {
  return entry.revision ?? "main";
}

/**
 * Whether an entry is pinned to a commit (40 hex digits) rather than a branch.
 *
 * @param entry the model.
 * @returns True for a commit.
 */
export function isPinned(entry: RegistryEntry): boolean {
  return /^[0-9a-f]{40}$/.test(entry.revision ?? "");
}

/**
 * Finds a model by name or alias (case-insensitive).
 *
 * @param name e.g. "aria-2b-1bit".
 * @param registry the entries to search (default: {@link REGISTRY}).
 * @returns The entry, or undefined.
 */
export function findModel(
  name: string,
  registry: readonly RegistryEntry[] = REGISTRY,
): RegistryEntry | undefined {
  const key = name.toLowerCase();
  return registry.find((e) =>
    e.name.toLowerCase() === key || e.aliases.some((a) => a.toLowerCase() === key)
  );
}

/**
 * The file name a pulled model is installed under, inside `<data dir>/models/`.
 *
 * @param entry the model.
 * @returns e.g. "bitnet-b1.58-2b-4t.gguf".
 */
export function installedFileName(entry: RegistryEntry): string {
  return `${entry.name}.gguf`;
}

/**
 * The size of a model for display: exact bytes in GB when known, else the hub's rounded text.
 *
 * @param entry the model.
 * @returns e.g. "1.19 GB", "1.36 GB", or "unknown".
 */
export function displaySize(entry: RegistryEntry): string {
  if (entry.size !== undefined) return formatBytes(entry.size);
  return entry.sizeText ?? "unknown";
}

/**
 * Bytes in human units (decimal, as the hub shows them).
 *
 * @param n bytes.
 * @returns e.g. "512 B", "3.6 MB", "1.19 GB".
 */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}
