/**
 * @module Shell: the fraud proofs this node accepted (issue 20), one JSON file per proof in
 * `<data dir>/fraud-proofs/<id>.json` (id = SHA-256 of the claim, src/p2p/fraud-proof.ts). Read
 * at start (the convicted stay banned across restarts) and by `aria ledger verify`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type FraudProof, fraudProofSchema, type FraudProofStore } from "../p2p/index.ts";
import { writeFileAtomic } from "../shared/atomic-write.ts";

/** The folder of the data dir that holds fraud proofs. */
export const FRAUD_PROOF_DIR = "fraud-proofs";

/**
 * The store of a data dir.
 *
 * @param dataDir the node's data dir.
 * @param log where an unreadable file is reported (it is skipped).
 * @returns the store.
 */
export function fraudProofStore(
  dataDir: string,
  log?: (entry: Record<string, unknown>) => void,
): FraudProofStore {
  const dir = join(dataDir, FRAUD_PROOF_DIR);
  return {
    list(): FraudProof[] {
      if (!existsSync(dir)) return [];
      const out: FraudProof[] = [];
      for (const name of readdirSync(dir).sort()) {
        if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
        try {
          const parsed = fraudProofSchema.safeParse(
            JSON.parse(readFileSync(join(dir, name), "utf8")),
          );
          if (parsed.success) out.push(parsed.data);
          else log?.({ event: "fraud_proof_file_refused", file: name });
        } catch (err: unknown) {
          // handled here: a damaged or unreadable file is skipped and named in the log
          log?.({ event: "fraud_proof_file_refused", file: name, error: String(err) });
        }
      }
      return out;
    },
    save(id: string, proof: FraudProof): void {
      if (!/^[0-9a-f]{64}$/.test(id)) throw new RangeError(`Cannot store fraud proof "${id}"`);
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(join(dir, `${id}.json`), JSON.stringify(proof) + "\n");
    },
  };
}
