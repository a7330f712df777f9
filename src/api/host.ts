/**
 * @module Which `Host` a request may name (DNS rebinding, issue 19 hole 4): a page on an
 * attacker's domain whose DNS answer is switched to 127.0.0.1 talks to the node as a same-origin
 * page of that domain, so the browser's same-origin policy does not protect the node; the Host
 * header still names the attacker's domain, and the node refuses it. Names are lowercase host
 * names ("localhost", "127.0.0.1", "[::1]", "node.lan"), matching any port, or "name:port",
 * matching that port only. Pure.
 */

/** The loopback names every node answers to. */
export const LOOPBACK_NAMES: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/**
 * Splits a Host header into name and port.
 *
 * @param host the header ("name", "name:port", "[v6]:port").
 * @returns lowercase name and port ("" when absent), or null when it is not a host.
 */
export function parseHost(host: string): { name: string; port: string } | null {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host.trim().toLowerCase());
  return m ? { name: m[1]!, port: m[2] ?? "" } : null;
}

/**
 * Whether a request's Host is one of the node's names.
 *
 * @param host the Host header (undefined: HTTP/1.0 without Host, refused).
 * @param names the names (see the module header), lowercase.
 * @returns true when allowed.
 */
export function hostAllowed(host: string | undefined, names: ReadonlySet<string>): boolean {
  const h = host === undefined ? null : parseHost(host);
  if (h === null) return false;
  return names.has(h.name) || (h.port !== "" && names.has(`${h.name}:${h.port}`));
}
