/**
 * @module Child process of crash.test.ts: appends signed records to the ledger at argv[2] (record numbers from argv[3]) in a
 * loop (sealing every 3), printing the number of committed appends after each one, until it is
 * killed (or after 100000 appends, so a lost parent never leaves it running).
 */
import { fixedIdentity, makeSigned } from "../helpers/ledger.ts";
import { openLedger } from "../../src/ledger/store.ts";

const alice = fixedIdentity(1);
const store = openLedger(process.argv[2]!, {
  identity: alice,
  clock: { nowMs: () => Date.now() },
  sealEvery: 3,
});
const first = Number(process.argv[3] ?? "0"); // record numbers start here (unique per run)
for (let n = 0; n < 100_000; n++) {
  store.append(makeSigned(alice, first + n));
  process.stdout.write(`${n + 1}\n`);
}
