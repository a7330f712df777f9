/**
 * @module The one atomic file write [S]: the bytes go to a temporary file next to the target,
 * then a rename replaces the target, so a reader (or a crash) sees the old file or the new one,
 * never a partial one. The temporary name carries the process id, so two processes writing the
 * same file do not write into each other's temporary file.
 */
import { chmodSync, renameSync, rmSync, writeFileSync } from "node:fs";

/** Options of `writeFileAtomic`. */
export interface AtomicWriteOptions {
  /** Permission bits of the new file, as `writeFileSync` takes them (the umask applies). */
  mode?: number;
  /** Set `mode` exactly with chmod before the rename, whatever the umask (a secret key's 0600). */
  exactMode?: boolean;
}

/**
 * Writes `data` to `path` atomically (temporary file + rename).
 *
 * @param path the target file; its directory must exist.
 * @param data the whole new content.
 * @param options the file's permission bits; exactly, or minus the umask.
 * @throws the write or rename error (e.g. ENOENT, EACCES); the temporary file is removed
 *   first, so a failed write leaves nothing behind.
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: Readonly<AtomicWriteOptions> = {},
): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    if (options.mode === undefined) writeFileSync(tmp, data);
    else {
      writeFileSync(tmp, data, { mode: options.mode });
      if (options.exactMode === true) chmodSync(tmp, options.mode);
    }
    renameSync(tmp, path);
  } catch (err: unknown) {
    // converted: the temporary file is removed and the error goes on to the caller
    rmSync(tmp, { force: true });
    throw err;
  }
}
