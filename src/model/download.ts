/**
 * @module Shell: downloads a model file from a Hugging Face style hub into the data dir.
 * - follows redirects itself (up to 10; the hub sends large files to its CDN), dropping the
 *   token when the redirect leaves the hub's origin;
 * - keeps what it received in `<data dir>/models/.partial/<file>.part` and resumes with a
 *   Range request the next time (a 200 answer to a Range request restarts from zero);
 * - hashes the bytes with SHA-256 as they arrive (a resumed file is hashed from disk first);
 * - installs atomically: only a complete, verified file is renamed to its final name, so an
 *   interrupted or failed download leaves nothing half-installed; a wrong hash or size deletes
 *   the partial file and fails;
 * - takes a lock (`<file>.part.lock` holding the process id) so two pulls of the same file do
 *   not write into one partial file; a lock whose process is gone (Ctrl-C, crash) is taken over.
 * The decisions (URLs, headers, how to read an answer, progress text) are in hub.ts.
 */
import { createHash, type Hash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DownloadError, planTransfer, requestHeaders, resolveUrl, sameDigest } from "./hub.ts";
import { entryRevision, installedFileName, isPinned, type RegistryEntry } from "./registry.ts";

/** Redirects followed before giving up (the hub needs one or two). */
const MAX_REDIRECTS = 10;

/** Progress of a transfer. */
export interface Progress {
  /** Bytes of the file on disk so far (resumed bytes included). */
  readonly done: number;
  /** Size of the whole file, when known. */
  readonly total?: number;
  /** Bytes received in this run (for the speed). */
  readonly received: number;
}

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  /** The URL to fetch (a hub `resolve` URL). */
  readonly url: string;
  /** Final path of the file. */
  readonly dest: string;
  /** Directory of partial files (same file system as `dest`, so the rename is atomic). */
  readonly partialDir: string;
  /** Expected SHA-256 (hex); undefined = not checked. */
  readonly sha256?: string;
  /** Expected size in bytes; undefined = not checked. */
  readonly size?: number;
  /** Bearer token for the hub. */
  readonly token?: string;
  /** Called as bytes arrive. */
  readonly onProgress?: (p: Progress) => void;
  /** Aborts the transfer (the bytes received so far stay in the partial file, to resume). */
  readonly signal?: AbortSignal;
}

/** What a finished download produced. */
export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Bytes that were already on disk from an earlier, interrupted run. */
  readonly resumedFrom: number;
  /** True when the model was installed before this call (nothing was downloaded). */
  readonly alreadyInstalled?: boolean;
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** Fetches with manual redirects; the token goes only to the URL's own origin. */
async function fetchFollowing(
  url: string,
  have: number,
  token?: string,
  signal?: AbortSignal,
): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const sameOrigin = new URL(current).origin === origin;
    let res: Response;
    try {
      res = await fetch(current, {
        headers: requestHeaders(have, sameOrigin ? token : undefined),
        redirect: "manual",
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (err: unknown) {
      // converted: a network failure becomes a DownloadError that says to retry
      throw new DownloadError(
        "HUB_NETWORK",
        `Cannot reach ${new URL(current).host}: ${(err as Error).message}; check the network ` +
          "and HF_ENDPOINT, then run the command again",
        { cause: err },
      );
    }
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location !== null) {
      await res.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    return res;
  }
  throw new DownloadError(
    "HUB_REDIRECTS",
    `Cannot download ${url}: more than ${MAX_REDIRECTS} redirects`,
  );
}

/** Streams the body to the partial file; on a cut connection what arrived stays on disk. */
async function receive(
  res: Response,
  part: string,
  hash: Hash,
  start: number,
  total: number | undefined,
  onProgress?: (p: Progress) => void,
): Promise<number> {
  const fh = await open(part, start > 0 ? "a" : "w");
  let done = start;
  try {
    if (res.body === null) return done;
    for await (const chunk of res.body) {
      await fh.write(chunk);
      hash.update(chunk);
      done += chunk.length;
      onProgress?.(
        total === undefined ? { done, received: done - start } : {
          done,
          total,
          received: done - start,
        },
      );
    }
  } catch (err: unknown) {
    // converted: the bytes received so far are kept for the next run to resume from
    throw new DownloadError(
      "HUB_INTERRUPTED",
      `Download interrupted after ${done} bytes (${(err as Error).message}); run the same ` +
        "command again to resume",
      { cause: err },
    );
  } finally {
    await fh.close();
  }
  return done;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    // handled: EPERM means the process exists but belongs to someone else
    return (err as { code?: string }).code === "EPERM";
  }
}

/** Takes the lock of a partial file; a lock left by a dead process is taken over. */
function lockPartial(lock: string, what: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (err: unknown) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(lock, "utf8"));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new DownloadError(
          "HUB_BUSY",
          `Another aria process (pid ${pid}) is downloading ${what}; wait for it to finish, ` +
            "or stop it and run the command again",
        );
      }
      rmSync(lock, { force: true }); // stale: its process is gone
    }
  }
  throw new DownloadError("HUB_BUSY", `Cannot lock the download of ${what}; run the command again`);
}

/**
 * Downloads one file, resuming a partial one, verifying and installing it atomically.
 *
 * @param o what to fetch and where to put it.
 * @returns The installed file.
 * @throws {DownloadError} On an HTTP error, a cut connection (partial file kept: run again to
 * resume), or a wrong size or hash (partial file deleted, nothing installed).
 */
export async function downloadFile(o: DownloadOptions): Promise<DownloadResult> {
  mkdirSync(o.partialDir, { recursive: true });
  mkdirSync(dirname(o.dest), { recursive: true });
  const part = join(o.partialDir, `${basename(o.dest)}.part`);
  const lock = `${part}.lock`;
  lockPartial(lock, basename(o.dest));
  try {
    return await downloadLocked(o, part);
  } finally {
    rmSync(lock, { force: true });
  }
}

async function downloadLocked(o: DownloadOptions, part: string): Promise<DownloadResult> {
  let have = existsSync(part) ? statSync(part).size : 0;
  const res = await fetchFollowing(o.url, have, o.token, o.signal);
  let plan;
  try {
    plan = planTransfer(res.status, {
      "content-length": res.headers.get("content-length"),
      "content-range": res.headers.get("content-range"),
    }, have);
  } catch (err: unknown) {
    await res.body?.cancel();
    throw err;
  }
  const hash = createHash("sha256");
  if (plan.keep === 0) have = 0;
  else await hashFile(part, hash);
  const total = plan.total ?? o.size;
  const done = res.status === 416
    ? (await res.body?.cancel(), have)
    : await receive(res, part, hash, have, total, o.onProgress);
  const digest = hash.digest("hex");
  // a wrong size or hash is fatal for these bytes: delete them so the next run starts clean
  if (o.size !== undefined && done !== o.size) {
    rmSync(part, { force: true });
    throw new DownloadError(
      "HUB_SIZE",
      `Downloaded ${done} bytes, expected ${o.size}: the file was deleted; run the command again`,
    );
  }
  if (o.sha256 !== undefined && !sameDigest(digest, o.sha256)) {
    rmSync(part, { force: true });
    throw new DownloadError(
      "HUB_HASH",
      `SHA-256 mismatch: got ${digest}, expected ${o.sha256.toLowerCase()}; the download was ` +
        "deleted and nothing was installed. Run the command again; if it fails again the file " +
        "on the hub has changed",
    );
  }
  renameSync(part, o.dest);
  return { path: o.dest, bytes: done, sha256: digest, resumedFrom: have };
}

/** Hub settings (src/config/load.ts reads them from HF_ENDPOINT / HF_TOKEN). */
export interface HubSettings {
  readonly endpoint: string;
  readonly token?: string;
}

/** Options of {@link pullModel}. */
export interface PullOptions {
  readonly dataDir: string;
  readonly hub: HubSettings;
  /** Skip the SHA-256 check (needed for models whose hash the registry does not know). */
  readonly noVerify?: boolean;
  readonly onProgress?: (p: Progress) => void;
  /** Aborts the download (what arrived stays in the partial file, to resume). */
  readonly signal?: AbortSignal;
}

/**
 * The directory pulled models are installed in.
 *
 * @param dataDir the data dir.
 * @returns `<data dir>/models`.
 */
export function modelsDir(dataDir: string): string {
  return join(dataDir, "models");
}

/**
 * Where a registry model is (or would be) installed.
 *
 * @param entry the model.
 * @param dataDir the data dir.
 * @returns The path.
 */
export function installedPath(entry: RegistryEntry, dataDir: string): string {
  return join(modelsDir(dataDir), installedFileName(entry));
}

/**
 * Downloads a registry model into `<data dir>/models/`.
 *
 * @param entry the model.
 * @param o data dir, hub, verification, progress.
 * @returns The download result (`alreadyInstalled` when the file was there already).
 * @throws {DownloadError} For the built-in model, an unknown hash without `noVerify`, or any
 * failure of {@link downloadFile}.
 */
export async function pullModel(entry: RegistryEntry, o: PullOptions): Promise<DownloadResult> {
  if (entry.builtin || entry.repo === undefined || entry.file === undefined) {
    throw new DownloadError(
      "MODEL_BUILTIN",
      `${entry.name} is built into ARIA and needs no download; use --model ${entry.name}`,
    );
  }
  if (entry.sha256 === undefined && o.noVerify !== true) {
    throw new DownloadError(
      "MODEL_NO_HASH",
      `Cannot verify ${entry.name}: ARIA does not know the SHA-256 of ${entry.repo}/${entry.file}; ` +
        `pass --no-verify to download it without a hash check`,
    );
  }
  const dest = installedPath(entry, o.dataDir);
  if (existsSync(dest)) {
    const bytes = statSync(dest).size;
    return {
      path: dest,
      bytes,
      sha256: entry.sha256 ?? "",
      resumedFrom: 0,
      alreadyInstalled: true,
    };
  }
  const opts: DownloadOptions = {
    url: resolveUrl(o.hub.endpoint, entry.repo, entryRevision(entry), entry.file),
    dest,
    partialDir: join(modelsDir(o.dataDir), ".partial"),
    ...(o.noVerify === true || entry.sha256 === undefined ? {} : { sha256: entry.sha256 }),
    ...(entry.size === undefined ? {} : { size: entry.size }),
    ...(o.hub.token === undefined ? {} : { token: o.hub.token }),
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  };
  try {
    return await downloadFile(opts);
  } catch (err: unknown) {
    // converted: a size or hash mismatch of a file fetched at "main" (no pinned commit) gets
    // the likely reason; everything else is rethrown as it is
    if (
      err instanceof DownloadError && (err.code === "HUB_HASH" || err.code === "HUB_SIZE") &&
      !isPinned(entry)
    ) {
      throw new DownloadError(
        err.code,
        `${err.message}. ${entry.name} is fetched at "${
          entryRevision(entry)
        }" (no commit is pinned), so the ` +
          `file may have been re-uploaded since its hash was recorded; check ` +
          `${entry.repo}/${entry.file} and pass --no-verify only if you trust the new file`,
      );
    }
    throw err;
  }
}
