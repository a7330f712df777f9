/**
 * @module Counters for `GET /metrics` and their Prometheus text rendering (exposition format
 * 0.0.4). A plain object updated by the app: requests by route and status, prompt and completion
 * tokens per model, decode time per model (tokens/s = completion tokens / decode seconds over
 * completed requests), and the backend's live queue depth and active sequences. Pure.
 */
import type { BackendStats } from "../contract/index.ts";

/** Per-model totals. */
interface ModelTotals {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  decodeMs: number;
}

/** The app's counters. */
export interface Metrics {
  /**
   * Counts one answered request.
   *
   * @param route the route pattern (e.g. "/v1/chat/completions").
   * @param status HTTP status.
   */
  recordRequest(route: string, status: number): void;
  /**
   * Counts one finished completion.
   *
   * @param model model name.
   * @param promptTokens tokens in the prompt.
   * @param completionTokens tokens generated.
   * @param decodeMs time spent generating.
   */
  recordCompletion(
    model: string,
    promptTokens: number,
    completionTokens: number,
    decodeMs: number,
  ): void;
  /**
   * Renders everything in Prometheus text format.
   *
   * @param stats the backend's live numbers.
   * @returns the exposition text (ends with a newline).
   */
  render(stats: Readonly<BackendStats>): string;
  /**
   * Totals over every model since start (for the dashboard's overview).
   *
   * @returns finished completions, generated tokens and decode milliseconds.
   */
  totals(): { completions: number; completionTokens: number; decodeMs: number };
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function family(name: string, type: string, help: string, rows: string[]): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows];
}

/**
 * Creates empty counters.
 *
 * @returns a {@link Metrics} object.
 * @example
 * ```ts
 * const m = createMetrics();
 * m.recordRequest("/health", 200);
 * m.render({ queueDepth: 0, activeSequences: 0, slots: 1 });
 * ```
 */
export function createMetrics(): Metrics {
  const requests = new Map<string, { route: string; status: string; n: number }>();
  const models = new Map<string, ModelTotals>();
  return {
    recordRequest(route, status) {
      const key = `${route} ${status}`;
      const row = requests.get(key) ?? { route, status: String(status), n: 0 };
      row.n++;
      requests.set(key, row);
    },
    recordCompletion(model, promptTokens, completionTokens, decodeMs) {
      const t = models.get(model) ??
        { requests: 0, promptTokens: 0, completionTokens: 0, decodeMs: 0 };
      t.requests++;
      t.promptTokens += promptTokens;
      t.completionTokens += completionTokens;
      t.decodeMs += decodeMs;
      models.set(model, t);
    },
    totals() {
      let completions = 0;
      let completionTokens = 0;
      let decodeMs = 0;
      for (const t of models.values()) {
        completions += t.requests;
        completionTokens += t.completionTokens;
        decodeMs += t.decodeMs;
      }
      return { completions, completionTokens, decodeMs };
    },
    render(stats) {
      const perModel = (f: (t: ModelTotals) => number) =>
        [...models].map(([model, t]) => `${labels({ model })} ${f(t)}`);
      const lines = [
        ...family(
          "aria_http_requests_total",
          "counter",
          "HTTP requests answered, by route and status.",
          [...requests.values()].map((r) =>
            `aria_http_requests_total${labels({ route: r.route, status: r.status })} ${r.n}`
          ),
        ),
        ...family(
          "aria_completions_total",
          "counter",
          "Completions finished, by model.",
          perModel((t) => t.requests).map((r) => `aria_completions_total${r}`),
        ),
        ...family(
          "aria_prompt_tokens_total",
          "counter",
          "Prompt tokens processed, by model.",
          perModel((t) => t.promptTokens).map((r) => `aria_prompt_tokens_total${r}`),
        ),
        ...family(
          "aria_completion_tokens_total",
          "counter",
          "Tokens generated, by model.",
          perModel((t) => t.completionTokens).map((r) => `aria_completion_tokens_total${r}`),
        ),
        ...family(
          "aria_decode_seconds_total",
          "counter",
          "Time spent generating tokens in finished completions, by model.",
          perModel((t) => t.decodeMs / 1000).map((r) => `aria_decode_seconds_total${r}`),
        ),
        ...family(
          "aria_tokens_per_second",
          "gauge",
          "Completion tokens per decode second over finished completions, by model.",
          perModel((t) => (t.decodeMs > 0 ? (t.completionTokens * 1000) / t.decodeMs : 0))
            .map((r) => `aria_tokens_per_second${r}`),
        ),
        ...family("aria_queue_depth", "gauge", "Requests waiting for a slot.", [
          `aria_queue_depth ${stats.queueDepth}`,
        ]),
        ...family("aria_active_sequences", "gauge", "Sequences being generated.", [
          `aria_active_sequences ${stats.activeSequences}`,
        ]),
        ...family("aria_slots", "gauge", "Sequence slots of the backend.", [
          `aria_slots ${stats.slots}`,
        ]),
      ];
      return lines.join("\n") + "\n";
    },
  };
}
