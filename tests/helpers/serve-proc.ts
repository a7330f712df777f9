/**
 * @module For tests that start `aria serve` as a child process: wait until it says where it
 * listens.
 */

/**
 * Reads the child's stdout until `ARIA listening on <url>`.
 *
 * @param proc an `aria serve` process spawned with `stdout: "pipe"`.
 * @returns the API's URL.
 * @throws {Error} with what it printed, when it exits before listening.
 */
export async function listeningUrl(proc: { stdout: unknown }): Promise<string> {
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let out = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`aria serve exited before listening: ${out}`);
    out += decoder.decode(value, { stream: true });
    const m = /ARIA listening on (http:\/\/\S+)/.exec(out);
    if (m) return m[1]!;
  }
}
