/**
 * @module The DLLs a Windows executable (PE32 or PE32+) names in its import and delay-import
 * tables, read from its bytes: DOS header → PE header → optional header's data directories →
 * section table (to turn RVAs into file offsets) → the import descriptors' DLL names. Pure: it
 * takes the bytes. Every offset is bounds-checked; a malformed file throws a RangeError saying
 * which structure lies outside the file, never reads past it.
 */

/** The DLL names of one executable, in table order. */
export interface PeImports {
  /** `IMAGE_FILE_HEADER.Machine`: 0x8664 for x86-64. */
  readonly machine: number;
  /** The import directory's DLLs (loaded at start: a missing one stops the program). */
  readonly imports: readonly string[];
  /** The delay-import directory's DLLs (loaded on the first call into them). */
  readonly delayImports: readonly string[];
}

interface Section {
  readonly va: number;
  readonly vsize: number;
  readonly raw: number;
  readonly rawSize: number;
}

/** Largest number of descriptors read from one table: a real table has tens. */
const MAX_DESCRIPTORS = 4096;
/** Longest DLL name read (Windows' MAX_PATH). */
const MAX_NAME = 260;

function need(bytes: Uint8Array, offset: number, length: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + length > bytes.length) {
    throw new RangeError(
      `Cannot read the PE file: ${what} (${length} bytes at offset ${offset}) lies outside the file of ${bytes.length} bytes`,
    );
  }
}

/** File offset of an RVA, through the section that maps it. */
function rvaToOffset(sections: readonly Section[], rva: number, what: string): number {
  for (const s of sections) {
    const size = Math.max(s.vsize, s.rawSize);
    if (rva >= s.va && rva < s.va + size) {
      const off = rva - s.va;
      if (off >= s.rawSize) {
        throw new RangeError(`Cannot read the PE file: ${what} (RVA ${rva}) is not in the file`);
      }
      return s.raw + off;
    }
  }
  throw new RangeError(`Cannot read the PE file: ${what} (RVA ${rva}) is in no section`);
}

/** A NUL-terminated ASCII string at an RVA. */
function cString(bytes: Uint8Array, sections: readonly Section[], rva: number): string {
  const start = rvaToOffset(sections, rva, "a DLL name");
  let end = start;
  while (end < bytes.length && bytes[end] !== 0 && end - start < MAX_NAME) end++;
  if (end >= bytes.length || bytes[end] !== 0) {
    throw new RangeError(`Cannot read the PE file: the DLL name at RVA ${rva} is not terminated`);
  }
  return new TextDecoder("latin1").decode(bytes.subarray(start, end));
}

/**
 * Reads the DLL names from an executable's import tables.
 *
 * @param bytes the whole file.
 * @returns the machine and the imported and delay-imported DLL names.
 * @throws {RangeError} when a header or table lies outside the file, or a signature is wrong.
 */
export function peImports(bytes: Uint8Array): PeImports {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  need(bytes, 0, 64, "the DOS header");
  if (bytes[0] !== 0x4d || bytes[1] !== 0x5a) {
    throw new RangeError('Cannot read the PE file: no "MZ" DOS signature');
  }
  const pe = view.getUint32(0x3c, true);
  need(bytes, pe, 24, "the PE header");
  if (view.getUint32(pe, true) !== 0x00004550) {
    throw new RangeError(`Cannot read the PE file: no "PE\\0\\0" signature at offset ${pe}`);
  }
  const machine = view.getUint16(pe + 4, true);
  const nSections = view.getUint16(pe + 6, true);
  const optSize = view.getUint16(pe + 20, true);
  const opt = pe + 24;
  need(bytes, opt, optSize, "the optional header");
  const magic = view.getUint16(opt, true);
  // PE32+ (0x20b) keeps NumberOfRvaAndSizes at 108 and the directories at 112; PE32 at 92 / 96
  const [countAt, dirsAt] = magic === 0x20b ? [108, 112] : magic === 0x10b ? [92, 96] : [-1, -1];
  if (countAt < 0) throw new RangeError(`Cannot read the PE file: optional header magic ${magic}`);
  const nDirs = view.getUint32(opt + countAt, true);
  const imageBase = magic === 0x20b
    ? Number(view.getBigUint64(opt + 24, true))
    : view.getUint32(opt + 28, true);
  const dir = (i: number): { rva: number; size: number } => {
    if (i >= nDirs || dirsAt + 8 * i + 8 > optSize) return { rva: 0, size: 0 };
    return {
      rva: view.getUint32(opt + dirsAt + 8 * i, true),
      size: view.getUint32(opt + dirsAt + 8 * i + 4, true),
    };
  };
  const sectionsAt = opt + optSize;
  need(bytes, sectionsAt, 40 * nSections, "the section table");
  const sections: Section[] = [];
  for (let i = 0; i < nSections; i++) {
    const s = sectionsAt + 40 * i;
    sections.push({
      vsize: view.getUint32(s + 8, true),
      va: view.getUint32(s + 12, true),
      rawSize: view.getUint32(s + 16, true),
      raw: view.getUint32(s + 20, true),
    });
  }
  /**
   * DLL names of a descriptor table: `size`-byte entries, name RVA at `nameAt`, zero-ended.
   * `vaUnlessBit0`: the delay-load table's old form holds VAs unless Attributes bit 0 is set.
   */
  const table = (
    index: number,
    size: number,
    nameAt: number,
    what: string,
    vaUnlessBit0 = false,
  ): string[] => {
    const d = dir(index);
    if (d.rva === 0) return [];
    const names: string[] = [];
    let off = rvaToOffset(sections, d.rva, what);
    for (let n = 0;; n++, off += size) {
      if (n >= MAX_DESCRIPTORS) {
        throw new RangeError(`Cannot read the PE file: the ${what} has no end`);
      }
      need(bytes, off, size, `the ${what} entry ${n}`);
      if (bytes.subarray(off, off + size).every((b) => b === 0)) return names;
      const name = view.getUint32(off + nameAt, true);
      const isVa = vaUnlessBit0 && (view.getUint32(off, true) & 1) === 0;
      names.push(cString(bytes, sections, isVa ? name - imageBase : name));
    }
  };
  return {
    machine,
    // IMAGE_IMPORT_DESCRIPTOR: 20 bytes, Name at +12 (directory 1)
    imports: table(1, 20, 12, "import directory"),
    // IMAGE_DELAYLOAD_DESCRIPTOR: 32 bytes, DllNameRVA at +4 (directory 13)
    delayImports: table(13, 32, 4, "delay-import directory", true),
  };
}
