import { describe, expect, test } from "bun:test";
import type { NodeStatus } from "../port.ts";
import { overviewLive, overviewPage } from "./overview.ts";

const status: NodeStatus = {
  nodeId: "abc",
  model: "<script>m</script>",
  status: "ready",
  tokensPerSecond: 41.25,
  requests: 7,
  energyMj: null,
  queueDepth: 1,
  activeSequences: 2,
  slots: 4,
};

describe("overview view", () => {
  test("shows the numbers, escapes the model name, polls every 2 s", async () => {
    const out = String(await overviewPage(status));
    expect(out).toContain('hx-get="/" hx-trigger="every 2s"');
    expect(out).toContain('data-field="model">&lt;script&gt;m&lt;/script&gt;</dd>');
    expect(out).not.toContain("<script>");
    expect(out).toContain('data-field="tokens-per-second">41.3</dd>'); // toFixed rounds half up here
    expect(out).toContain('data-field="requests">7</dd>');
    expect(out).toContain("not measured on this node");
    expect(out).toContain("1 waiting, 2 of 4 slots busy");
    expect(out).toContain('class="status-ok"');
  });

  test("unknown tokens/s shows a dash, energy shows millijoules, loading is not ok", async () => {
    const out = String(
      await overviewLive({ ...status, tokensPerSecond: null, energyMj: 1500, status: "loading" }),
    );
    expect(out).toContain('data-field="tokens-per-second">—</dd>');
    expect(out).toContain('data-field="energy">1500 mJ</dd>');
    expect(out).toContain('class="status-wait">loading</dd>');
  });
});
