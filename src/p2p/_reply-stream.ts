/**
 * @module The replies of one request as an async generator: the node pushes replies as they
 * arrive (matched by `re`), fails the stream when the peer goes away, and the caller closes it when
 * done. Queued replies are yielded before a failure is thrown. Pure: no timers, no I/O.
 */

/** One request's reply stream. */
export interface ReplyStream<T> {
  /** Queues a reply. */
  push(value: T): void;
  /** Ends the stream with an error (after the queued replies). */
  fail(error: unknown): void;
  /** Ends the stream quietly. */
  close(): void;
  readonly replies: AsyncGenerator<T, void, void>;
}

/**
 * A new, empty stream.
 *
 * @returns the stream.
 */
export function replyStream<T>(): ReplyStream<T> {
  const queue: T[] = [];
  let failure: { error: unknown } | null = null;
  let done = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  async function* replies(): AsyncGenerator<T, void, void> {
    while (!done) {
      if (queue.length > 0) {
        yield queue.shift()!;
        continue;
      }
      if (failure) throw failure.error;
      await new Promise<void>((r) => (wake = r));
    }
  }
  return {
    push: (value) => (queue.push(value), notify()),
    fail: (error) => (failure = { error }, notify()),
    close: () => (done = true, notify()),
    replies: replies(),
  };
}
