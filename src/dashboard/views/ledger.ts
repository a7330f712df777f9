/**
 * @module The ledger explorer: the newest blocks and records (inferences and policy changes), the
 * peers' chains this node keeps (verified, or rejected with the reason), and a form that verifies
 * a provenance receipt (pasted JSON) through the ledger port. Pure.
 */
import { html } from "hono/html";
import type { BlockRow, PeerChainRow, RecordRow, VerifyResult } from "../port.ts";
import { type Html, utc } from "./layout.ts";

/** Rows shown per table. */
export const LEDGER_ROWS = 50;

function blocksTable(blocks: readonly BlockRow[]): Html {
  if (blocks.length === 0) return html`<p>No blocks yet.</p>`;
  const rows = blocks.map((b) =>
    html`
      <tr>
        <td>${b.height}</td>
        <td class="mono">${b.hash}</td>
        <td class="mono">${b.prevHash}</td>
        <td>${utc(b.timeMs)}</td>
        <td>${b.records}</td>
      </tr>
    `
  );
  return html`
    <div class="scroll">
      <table>
        <caption>Newest ${blocks.length} block(s)</caption>
        <thead>
          <tr>
            <th scope="col">Height</th>
            <th scope="col">Hash</th>
            <th scope="col">Previous</th>
            <th scope="col">Time</th>
            <th scope="col">Records</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
  `;
}

function recordsTable(records: readonly RecordRow[]): Html {
  if (records.length === 0) return html`<p>No records yet.</p>`;
  const rows = records.map((r) =>
    html`
      <tr>
        <td class="mono">${r.hash}</td>
        <td>${r.kind}</td>
        <td>${utc(r.timeMs)}</td>
        <td>${r.summary}</td>
      </tr>
    `
  );
  return html`
    <div class="scroll">
      <table>
        <caption>Newest ${records.length} record(s)</caption>
        <thead>
          <tr>
            <th scope="col">Hash</th>
            <th scope="col">Kind</th>
            <th scope="col">Time</th>
            <th scope="col">Summary</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
  `;
}

function chainsTable(chains: readonly PeerChainRow[]): Html {
  if (chains.length === 0) return html`<p>No peer has sent its chain yet.</p>`;
  const rows = chains.map((c) =>
    html`
      <tr>
        <td class="mono">${c.peer}</td>
        <td>${c.height}</td>
        <td class="mono">${c.headHash}</td>
        <td>${c.totalTokens}</td>
        <td>${c.bodiesHeight}</td>
        <td>${c.rejectedReason === null
          ? html`<span class="ok">verified</span>`
          : html`<span class="bad">rejected: ${c.rejectedReason}</span>`}</td>
        <td>${utc(c.updatedMs)}</td>
      </tr>
    `
  );
  return html`
    <div class="scroll">
      <table>
        <caption>${chains.length} peer chain(s): verified headers kept here</caption>
        <thead>
          <tr>
            <th scope="col">Peer</th>
            <th scope="col">Height</th>
            <th scope="col">Head</th>
            <th scope="col">Tokens</th>
            <th scope="col">Blocks checked to</th>
            <th scope="col">Status</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
  `;
}

/**
 * The blocks, records and peers' chains (the fragment htmx refreshes).
 *
 * @param blocks newest first.
 * @param records newest first.
 * @param chains the peers' chains (undefined: the node keeps none, the section is left out).
 * @returns the fragment.
 */
export function ledgerLive(
  blocks: readonly BlockRow[],
  records: readonly RecordRow[],
  chains?: readonly PeerChainRow[],
): Html {
  return html`<h2>Blocks</h2>${blocksTable(blocks)}<h2>Records</h2>${recordsTable(records)}${
    chains === undefined ? "" : html`<h2>Peers' chains</h2>${chainsTable(chains)}`
  }`;
}

/**
 * What a verification found.
 *
 * @param r the result.
 * @returns a status paragraph.
 */
export function verifyResult(r: VerifyResult): Html {
  return r.ok
    ? html`<p class="ok" role="status">Valid receipt. ${r.detail}</p>`
    : html`<p class="bad" role="alert">Not valid: ${r.reason}</p>`;
}

/**
 * The ledger content.
 *
 * @param blocks newest first.
 * @param records newest first.
 * @param chains the peers' chains, when the node keeps them.
 * @returns the page body.
 */
export function ledgerPage(
  blocks: readonly BlockRow[],
  records: readonly RecordRow[],
  chains?: readonly PeerChainRow[],
): Html {
  return html`
    <form class="stack" hx-post="/ledger/verify" hx-target="#verify-result" action="/ledger/verify"
      method="post">
      <label for="receipt">Verify a receipt (paste its JSON)</label>
      <textarea id="receipt" name="receipt" rows="4" required></textarea>
      <button type="submit">Verify</button>
    </form>
    <div id="verify-result"></div>
    <section id="ledger-live" hx-get="/ledger" hx-trigger="every 5s" hx-swap="innerHTML">
    ${ledgerLive(blocks, records, chains)}
    </section>
  `;
}
