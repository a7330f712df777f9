import { describe, expect, test } from "bun:test";
import { createMetrics } from "./metrics.ts";

describe("metrics", () => {
  test("counts requests and tokens, computes tokens/s, escapes labels", () => {
    const m = createMetrics();
    m.recordRequest("/health", 200);
    m.recordRequest("/health", 200);
    m.recordRequest("/v1/models", 404);
    m.recordCompletion('a"b', 3, 10, 2000);
    m.recordCompletion('a"b', 2, 20, 1000);
    const text = m.render({ queueDepth: 1, activeSequences: 2, slots: 3 });
    expect(text).toContain('aria_http_requests_total{route="/health",status="200"} 2\n');
    expect(text).toContain('aria_http_requests_total{route="/v1/models",status="404"} 1\n');
    expect(text).toContain('aria_prompt_tokens_total{model="a\\"b"} 5\n');
    expect(text).toContain('aria_completion_tokens_total{model="a\\"b"} 30\n');
    expect(text).toContain('aria_tokens_per_second{model="a\\"b"} 10\n');
    expect(text).toContain("aria_queue_depth 1\naria_active_sequences 2\n".split("\n")[0]!);
    expect(text.endsWith("aria_slots 3\n")).toBe(true);
  });

  test("totals sum over every model", () => {
    const m = createMetrics();
    expect(m.totals()).toEqual({ completions: 0, completionTokens: 0, decodeMs: 0 });
    m.recordCompletion("a", 3, 10, 2000);
    m.recordCompletion("b", 2, 20, 1000);
    m.recordCompletion("a", 1, 5, 500);
    expect(m.totals()).toEqual({ completions: 3, completionTokens: 35, decodeMs: 3500 });
  });
});
