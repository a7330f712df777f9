/**
 * @module Shell: the Bun WebSocket transport of the peer node — Bun's WebSocket server plus
 * outbound WebSocket clients, as a `Transport` (transport.ts). The one place in p2p/ that calls
 * Bun.serve. Moved from node.ts unchanged.
 */
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
      type Data = { conn: Connection | null };
      server = Bun.serve<Data>({
        port: options.port,
        hostname: options.hostname,
        ...(options.tls
          ? { tls: { cert: Bun.file(options.tls.certPath), key: Bun.file(options.tls.keyPath) } }
          : {}),
        fetch(req, srv) {
          if (srv.upgrade(req, { data: { conn: null } as Data })) return undefined;
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
