/**
 * @module Which receipt an answer of `aria serve` carries: this node's own record for work it did
 * (alone, or as a pipeline's coordinator), or the receipt the peer that did the work signed,
 * checked first. Pure: the sink of this node's ledger and the log are passed in.
 */
import type { ProvenanceReceipt, ProvenanceSink } from "../contract/index.ts";
import { checkRelayedReceipt } from "../ledger/provenance.ts";

/**
 * The API's provenance sink for a node that may route: work this node did (alone, or as a
 * pipeline's coordinator) is recorded in its own ledger; an answer from a peer carries the
 * receipt that peer signed, which is checked (src/ledger/provenance.ts `checkRelayedReceipt`)
 * and passed on. A peer's answer without a receipt that checks out gets none (null, logged):
 * this node never signs work it did not do.
 *
 * @param options this node's id, its own ledger's sink (none: answers of this node get no
 *   receipt, e.g. the simulation backend), and the log.
 * @returns the sink.
 */
export function answerProvenance(
  options: Readonly<{
    nodeId: string;
    local?: ProvenanceSink;
    log: (entry: Record<string, unknown>) => void;
  }>,
): ProvenanceSink {
  return {
    record(input): ProvenanceReceipt | null {
      const { result, request } = input;
      if (result.relayed !== undefined) {
        // handled here: embedding work is never routed to peers (the router carries completions
        // only), so a relayed embedding result is not something to pass on
        if (!("sampling" in request)) return null;
        const { from, receipt } = result.relayed;
        // the output hash is checked when one peer produced the whole answer; after a fail-over
        // the peer's record covers only the text it continued with
        const whole = result.servedBy.length === 1;
        const checked = checkRelayedReceipt(receipt, {
          peer: from,
          model: request.model,
          input: request.input,
          ...(whole ? { output: input.output } : {}),
          // a version 2 record must name the sampling this request asked for
          sampling: {
            ...(request.seed !== undefined ? { seed: request.seed } : {}),
            ...(request.grammar !== undefined ? { grammar: request.grammar } : {}),
            settings: request.sampling,
          },
        });
        if (checked.ok) return checked.value;
        // handled here: a peer's bad receipt is reported and not passed on to the client
        options.log({
          level: "warn",
          msg: "peer receipt refused",
          requestId: request.id,
          peer: from,
          error: checked.error,
        });
        return null;
      }
      const last = result.servedBy.at(-1);
      const ours = result.layers !== undefined || last === undefined || last === options.nodeId;
      return ours && options.local ? options.local.record(input) : null;
    },
  };
}
