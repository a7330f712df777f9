/**
 * @module The pure half of the model downloader (download.ts is the shell): Hugging Face
 * `resolve` URLs, request headers (Range, token), reading a 200 / 206 answer into "how many
 * bytes to expect and whether the partial file is kept", and the progress text. Pure: no I/O,
 * no clock, no environment (HF_ENDPOINT and HF_TOKEN are read by src/config/load.ts).
 */
import { AriaError } from "../shared/errors.ts";

/** The hub when HF_ENDPOINT is not set. */
export const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

/** A download failed: the message says what and what to do. */
export class DownloadError extends AriaError {
  /** @param code stable code. @param message what failed and what to do. @param options cause. */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * The URL of a file at a revision, as the hub serves it (`/<repo>/resolve/<rev>/<file>`; the
 * hub answers with a redirect to its CDN for large files).
 *
 * @param endpoint e.g. "https://huggingface.co" (a trailing slash is ignored).
 * @param repo "owner/name".
 * @param revision branch, tag or commit.
 * @param file path inside the repository.
 * @returns The URL.
 * @throws {DownloadError} For an endpoint that is not an http(s) URL.
 * @example
 * ```ts
 * resolveUrl("https://huggingface.co", "microsoft/bitnet-b1.58-2B-4T-gguf", "main", "ggml-model-i2_s.gguf");
 * // "https://huggingface.co/microsoft/bitnet-b1.58-2B-4T-gguf/resolve/main/ggml-model-i2_s.gguf"
 * ```
 */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  if (!/^https?:\/\/[^/]/.test(endpoint)) {
    throw new DownloadError(
      "HUB_ENDPOINT",
      `Invalid HF_ENDPOINT "${endpoint}": expected an http:// or https:// URL`,
    );
  }
  const base = endpoint.replace(/\/+$/, "");
  const path = file.split("/").map(encodeURIComponent).join("/");
  return `${base}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/**
 * Request headers for a download that already has `have` bytes.
 *
 * @param have bytes of the partial file (0 = none).
 * @param token Hugging Face token, if any.
 * @returns The headers.
 */
export function requestHeaders(have: number, token?: string): Record<string, string> {
  const h: Record<string, string> = { "user-agent": "aria-model-pull" };
  if (have > 0) h["range"] = `bytes=${have}-`;
  if (token !== undefined && token !== "") h["authorization"] = `Bearer ${token}`;
  return h;
}

/** What to do with an answer: keep (resume) or drop the partial file, and the total size. */
export interface TransferPlan {
  /** Bytes of the partial file to keep (0 = start over). */
  readonly keep: number;
  /** Size of the whole file, when the server says it. */
  readonly total?: number;
}

/**
 * Reads the status and headers of the (final, after redirects) answer.
 *
 * @param status HTTP status.
 * @param headers `content-length` and `content-range`, lowercase names.
 * @param have bytes already on disk that the request asked to resume from.
 * @returns What to keep and the total size.
 * @throws {DownloadError} For an error status (401/403: token; 404: name; others: retry), or a
 * 206 whose range does not start where the partial file ends.
 */
export function planTransfer(
  status: number,
  headers: Readonly<{ "content-length"?: string | null; "content-range"?: string | null }>,
  have: number,
): TransferPlan {
  if (status === 200) {
    // a 200 to a Range request means the server ignored the range: start over
    const len = Number(headers["content-length"]);
    return Number.isSafeInteger(len) && len >= 0 ? { keep: 0, total: len } : { keep: 0 };
  }
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers["content-range"]?.trim() ?? "");
    if (m === null || Number(m[1]) !== have) {
      throw new DownloadError(
        "HUB_RANGE",
        `Cannot resume download: the server answered range "${
          headers["content-range"] ?? ""
        }" for a file of ${have} bytes; run the command again to start over`,
      );
    }
    return m[3] === "*" ? { keep: have } : { keep: have, total: Number(m[3]) };
  }
  if (status === 416) {
    // the partial file is as long as (or longer than) the file: verify it as it is
    return { keep: have };
  }
  if (status === 401 || status === 403) {
    throw new DownloadError(
      "HUB_AUTH",
      `Cannot download: the hub answered ${status}; the model may be gated — accept its license ` +
        "on huggingface.co and set HF_TOKEN to a token with read access",
    );
  }
  if (status === 404) {
    throw new DownloadError(
      "HUB_NOT_FOUND",
      "Cannot download: the hub answered 404; check the model name (aria model list) and " +
        "HF_ENDPOINT",
    );
  }
  throw new DownloadError(
    "HUB_HTTP",
    `Cannot download: the hub answered HTTP ${status}; try again later`,
  );
}

/**
 * One progress line: percent, bar, bytes and speed.
 *
 * @param done bytes so far.
 * @param total total bytes, if known.
 * @param bytesPerSecond current speed.
 * @param width bar width in characters.
 * @returns e.g. "[#####-----]  50%  5.0 MB / 10.0 MB  2.0 MB/s".
 */
export function progressLine(
  done: number,
  total: number | undefined,
  bytesPerSecond: number,
  width = 30,
): string {
  const speed = `${mb(bytesPerSecond)}/s`;
  if (total === undefined || total <= 0) return `${mb(done)}  ${speed}`;
  const frac = Math.min(1, done / total);
  const filled = Math.round(frac * width);
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  return `[${bar}] ${pct}  ${mb(done)} / ${mb(total)}  ${speed}`;
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/**
 * Compares a computed SHA-256 with the expected one.
 *
 * @param actual lowercase hex.
 * @param expected hex (any case).
 * @returns Whether they match.
 */
export function sameDigest(actual: string, expected: string): boolean {
  return actual.toLowerCase() === expected.toLowerCase();
}
