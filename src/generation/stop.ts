/**
 * @module When generation ends, and why: stop strings matched across token boundaries, and the
 * mapping of every cause to an OpenAI `finish_reason`. Pure.
 *
 * Stop strings are matched on the decoded text, incrementally. Text is released only once it is
 * known not to begin a stop string: a tail that could still grow into one is held back until the
 * next piece settles it. When a stop string completes, the text before it is released and the
 * stop string itself never is. If several could match, the one that completes first in the text
 * wins (then the one that starts first), so the outcome does not depend on how the text was
 * split into tokens.
 */

/** The precise reason generation ended. */
export type StopReason = "eog" | "stop_string" | "max_tokens" | "context_full";

/** OpenAI's `finish_reason`. */
export type FinishReason = "stop" | "length";

/**
 * Maps a stop reason to OpenAI's finish reason: "stop" for an end-of-generation token or a stop
 * string, "length" for the token limit or a full context.
 *
 * @param reason the precise reason.
 * @returns the finish reason.
 */
export function toFinishReason(reason: StopReason): FinishReason {
  return reason === "eog" || reason === "stop_string" ? "stop" : "length";
}

/** What a stop matcher releases after a piece of text. */
export interface StopScan {
  /** Text now safe to emit (possibly ""). */
  text: string;
  /** The stop string that matched, if one did; `text` is then everything before it. */
  stop?: string;
}

/** An incremental stop-string matcher. */
export interface StopMatcher {
  /**
   * Adds text.
   *
   * @param text the next piece of generated text.
   * @returns the text released by it, and the stop string if one completed (after which every
   *   push returns "").
   */
  push(text: string): StopScan;
  /**
   * Ends the text: nothing more will come, so what was held back is released.
   *
   * @returns the held-back text ("" after a match).
   */
  flush(): string;
}

/**
 * Creates a stop-string matcher.
 *
 * @param stops the stop strings (empty strings are ignored).
 * @returns a fresh matcher.
 * @example
 * ```ts
 * const m = createStopMatcher(["\n\nUser:"]);
 * m.push("Hi!\n"); // { text: "Hi!" } — "\n" might start the stop string
 * m.push("\nUser: more"); // { text: "", stop: "\n\nUser:" }
 * ```
 */
export function createStopMatcher(stops: readonly string[]): StopMatcher {
  const list = stops.filter((s) => s.length > 0);
  const longest = list.reduce((n, s) => Math.max(n, s.length), 0);
  let held = "";
  let stopped = false;

  const firstMatch = (): { start: number; stop: string } | undefined => {
    let best: { start: number; end: number; stop: string } | undefined;
    for (const stop of list) {
      const start = held.indexOf(stop);
      if (start < 0) continue;
      const end = start + stop.length;
      if (!best || end < best.end || (end === best.end && start < best.start)) {
        best = { start, end, stop };
      }
    }
    return best;
  };

  // the first position from which the rest of `held` is a proper prefix of some stop string
  const partialStart = (): number => {
    for (let j = Math.max(0, held.length - longest + 1); j < held.length; j++) {
      const tail = held.slice(j);
      if (list.some((s) => s.startsWith(tail))) return j;
    }
    return held.length;
  };

  return {
    push(text: string): StopScan {
      if (stopped) return { text: "" };
      held += text;
      const match = firstMatch();
      if (match) {
        stopped = true;
        const before = held.slice(0, match.start);
        held = "";
        return { text: before, stop: match.stop };
      }
      const cut = partialStart();
      const out = held.slice(0, cut);
      held = held.slice(cut);
      return { text: out };
    },
    flush(): string {
      const out = held;
      held = "";
      return out;
    },
  };
}
