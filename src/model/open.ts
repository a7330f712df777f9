/**
 * @module Opens a GGUF file for the TypeScript side (tokenizer metadata, model facts): maps it
 * read-only with Bun.mmap and parses the header and tables only — tensor data is never touched,
 * so this is cheap even for a 1.2 GB file. The only file reader of src/model/.
 */
import { statSync } from "node:fs";
import { GgufFormatError } from "./gguf-error.ts";
import { type GgufFile, parseGguf } from "./gguf-reader.ts";

/** A parsed GGUF file and its mapped bytes. */
export interface OpenedGguf {
  path: string;
  bytes: Uint8Array;
  file: GgufFile;
}

/**
 * Maps and parses a GGUF file.
 *
 * @param path the file.
 * @returns the parsed file with its bytes.
 * @throws {GgufFormatError} for a malformed file; Node's error (ENOENT, EACCES) when it cannot be opened.
 */
export function openGguf(path: string): OpenedGguf {
  const size = statSync(path).size;
  if (size < 24) {
    throw new GgufFormatError(`Cannot parse GGUF header: file "${path}" has only ${size} bytes`, 0);
  }
  const bytes = Bun.mmap(path, { shared: false });
  return { path, bytes, file: parseGguf(bytes) };
}
