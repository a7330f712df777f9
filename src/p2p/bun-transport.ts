/**
 * @module Shell: the Bun WebSocket transport of the peer node — Bun's WebSocket server plus
 * outbound WebSocket clients, as a `Transport` (transport.ts). The one place in p2p/ that calls
 * Bun.serve. Moved from node.ts; the Host check (the handshake's channel binding) added here.
 */
import { hostname, networkInterfaces } from "node:os";
import { MAX_BINARY_FRAME_BYTES } from "./protocol.ts";
import { type Connection, type Transport, type TransportHandlers } from "./transport.ts";

/** Options of the Bun WebSocket transport. */
export interface BunTransportOptions {
  port: number;
  hostname: string;
  /** PEM certificate and key paths: serve wss instead of ws. */
  tls?: { certPath: string; keyPath: string };
  /** Host name put in our URL (default: hostname). */
  publicHost?: string;
  /** false: accept no connections, only dial out (a node behind NAT; default true). */
  listen?: boolean;
  /**
   * More names dialers may use to reach this node (`--allowed-host`: a name behind NAT or a port
   * forward; "name" or "name:port"). The Host a dialer sends must be one of this node's names
   * (loopback, hostname, publicHost, the machine's addresses when listening on all of them, and
   * these) at the listening port, or it is refused: the Host is the channel binding of the
   * handshake (issue 19, hole 2).
   */
  allowedHosts?: readonly string[];
}

/**
 * "host:port", lowercased, with the scheme's default port when none is given: the channel
 * binding both ends of a connection compute (the dialer from its URL, the listener from Host).
 *
 * @param authority "host[:port]" (IPv6 in brackets).
 * @param tls wss (default port 443) or ws (80).
 * @returns the normalised authority.
 */
export function channelOf(authority: string, tls: boolean): string {
  let u: URL;
  try {
    u = new URL(`${tls ? "wss" : "ws"}://${authority.trim()}`);
  } catch {
    return ""; // handled here: not an authority; "" is no node's name, so it is refused
  }
  if (u.pathname !== "/" || u.username !== "" || u.search !== "") return "";
  return `${u.hostname.toLowerCase()}:${u.port === "" ? (tls ? 443 : 80) : u.port}`;
}

/** This machine's names a dialer may use (no port). */
function localNames(options: BunTransportOptions): Set<string> {
  const names = new Set(["localhost", "127.0.0.1", "[::1]"]);
  const add = (h: string) => names.add(h.includes(":") && !h.startsWith("[") ? `[${h}]` : h);
  add(options.hostname.toLowerCase());
  if (options.publicHost) add(options.publicHost.toLowerCase());
  if (options.hostname === "0.0.0.0" || options.hostname === "::") {
    // listening everywhere: the machine's own name and addresses are ours too
    add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) add(i.address.toLowerCase());
    }
  }
  return names;
}

/**
 * Whether a Host header names this node at its listening port (see allowedHosts).
 *
 * @param channel the normalised Host (channelOf).
 * @param port the listening port.
 * @param names this node's names (localNames) and allowed hosts.
 * @returns true when accepted.
 */
export function hostIsOurs(channel: string, port: number, names: ReadonlySet<string>): boolean {
  if (names.has(channel)) return true; // an allowed "name:port" (a port forward)
  const i = channel.lastIndexOf(":");
  return channel.slice(i + 1) === String(port) && names.has(channel.slice(0, i));
}

/**
 * Bun's WebSocket server plus outbound WebSocket clients, as a Transport.
 *
 * @param options port, address, optional TLS.
 * @returns the transport.
 */
export function bunTransport(options: BunTransportOptions): Transport {
  let server: ReturnType<typeof Bun.serve> | null = null;
  const open = new Set<WebSocket | { close(code: number, reason: string): void }>();
  let next = 0;
  return {
    start(h: TransportHandlers): Promise<string | null> {
      if (options.listen === false) {
        this.dial = (url: string) => dialWs(url, h, open, () => `out-${next++}`);
        return Promise.resolve(null);
      }
      type Data = { conn: Connection | null; channel: string; remote: string | null };
      const names = localNames(options);
      for (const h of options.allowedHosts ?? []) names.add(h.toLowerCase());
      server = Bun.serve<Data>({
        port: options.port,
        hostname: options.hostname,
        ...(options.tls
          ? { tls: { cert: Bun.file(options.tls.certPath), key: Bun.file(options.tls.keyPath) } }
          : {}),
        fetch(req, srv) {
          // handled here: a Host that is not one of ours is refused before the handshake (it
          // would be the channel binding, and a relay would name the relay's address)
          const channel = channelOf(req.headers.get("host") ?? "", options.tls !== undefined);
          if (!hostIsOurs(channel, srv.port ?? 0, names)) {
            return new Response("ARIA peer port: unknown Host\n", { status: 421 });
          }
          const remote = srv.requestIP(req)?.address ?? null;
          if (srv.upgrade(req, { data: { conn: null, channel, remote } as Data })) return undefined;
          return new Response("ARIA peer port: WebSocket only\n", { status: 426 });
        },
        websocket: {
          // Frames up to 4x the protocol limit reach parseFrame and are answered FRAME_TOO_LARGE
          // (the connection stays open); larger ones are closed by Bun with code 1009.
          maxPayloadLength: MAX_BINARY_FRAME_BYTES,
          idleTimeout: 120,
          open(ws) {
            const conn: Connection = {
              key: `in-${next++}`,
              channel: (ws.data as Data).channel,
              ...((ws.data as Data).remote !== null ? { remote: (ws.data as Data).remote! } : {}),
              send: (d) => void ws.send(d),
              close: (code, reason) => ws.close(code, reason),
            };
            (ws.data as Data).conn = conn;
            open.add(conn);
            h.onOpen(conn, null);
          },
          message(ws, msg) {
            if (ws.data.conn) {
              h.onMessage(ws.data.conn, typeof msg === "string" ? msg : new Uint8Array(msg));
            }
          },
          close(ws, code, reason) {
            const conn = (ws.data as Data).conn;
            if (!conn) return;
            open.delete(conn);
            h.onClose(conn, code, reason);
          },
        },
      });
      const scheme = options.tls ? "wss" : "ws";
      const host = options.publicHost ?? options.hostname;
      const shown = host.includes(":") ? `[${host}]` : host;
      this.dial = (url: string) => dialWs(url, h, open, () => `out-${next++}`);
      return Promise.resolve(`${scheme}://${shown}:${server.port}`);
    },
    dial(): Promise<Connection> {
      return Promise.reject(new Error("Cannot dial: the transport is not started"));
    },
    async stop(): Promise<void> {
      for (const c of [...open]) c.close(1001, "node stopping");
      await server?.stop(true);
    },
  };
}

function dialWs(
  url: string,
  h: TransportHandlers,
  open: Set<WebSocket | { close(code: number, reason: string): void }>,
  key: () => string,
): Promise<Connection> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err: unknown) {
      return reject(err); // handled by the node: dial_failed
    }
    ws.binaryType = "arraybuffer";
    const conn: Connection = {
      key: key(),
      channel: channelOf(new URL(url).host, url.startsWith("wss:")),
      // a browser-style WebSocket takes ArrayBuffer-backed views; frames are built in fresh buffers
      send: (d) =>
        ws.readyState === WebSocket.OPEN && ws.send(d as string | Uint8Array<ArrayBuffer>),
      close: (code, reason) => ws.close(code, reason),
    };
    let opened = false;
    ws.onopen = () => {
      opened = true;
      open.add(ws);
      resolve(conn);
      h.onOpen(conn, url);
    };
    ws.onmessage = (ev) =>
      h.onMessage(
        conn,
        typeof ev.data === "string" ? ev.data : new Uint8Array(ev.data as ArrayBuffer),
      );
    ws.onerror = () => {
      if (!opened) reject(new Error(`Cannot connect to ${url}`));
    };
    ws.onclose = (ev) => {
      open.delete(ws);
      if (!opened) reject(new Error(`Cannot connect to ${url}: closed (${ev.code})`));
      else h.onClose(conn, ev.code, ev.reason);
    };
  });
}
