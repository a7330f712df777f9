/**
 * @module The Transport port (STYLE.md C9, nostr-tools' injected websocketImplementation): how a
 * node accepts and opens connections, without saying over what. node.ts implements it with Bun's
 * WebSocket server and client; `MemoryNetwork` here connects nodes in one process, for protocol
 * tests and the 200-node discovery harness. Pure: no sockets, no timers; delivery is queued and
 * run by `flush()`, so tests decide exactly when messages move.
 */

/** One open connection. */
export interface Connection {
  /** Unique per transport (for logs and maps). */
  readonly key: string;
  /**
   * Channel binding for the handshake (handshake.ts transcript): what the dialer dialled, as both
   * ends see it — the dialled URL's authority on the dialer's side, the authority named by the
   * dialer (the Host header, checked by the transport against the listener's own names) on the
   * listener's. A relay has two connections, with two channels. Absent: "" (no binding).
   */
  readonly channel?: string;
  /** The remote address of an inbound connection (admission limits per address), if known. */
  readonly remote?: string;
  send(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

/** What the transport reports to the node. */
export interface TransportHandlers {
  /** A connection opened; `dialedUrl` is set on outbound ones. */
  onOpen(conn: Connection, dialedUrl: string | null): void;
  onMessage(conn: Connection, data: string | Uint8Array): void;
  onClose(conn: Connection, code: number, reason: string): void;
}

/** A way to reach peers. */
export interface Transport {
  /** Starts accepting; returns the URL peers dial (null = does not accept). */
  start(handlers: TransportHandlers): Promise<string | null>;
  /** Opens a connection; rejects if the address does not answer. */
  dial(url: string): Promise<Connection>;
  /** Closes every connection and stops accepting. */
  stop(): Promise<void>;
}

type Pending = () => void;

/** An in-process network of `MemoryTransport`s with queued, ordered delivery. */
export class MemoryNetwork {
  readonly #listeners = new Map<string, TransportHandlers>();
  #queue: Pending[] = [];
  #next = 0;
  /** Messages delivered so far (text and binary). */
  delivered = 0;
  readonly #auto: boolean;
  #scheduled = false;

  /**
   * @param options `auto`: deliver by itself on the microtask queue (for tests with async
   *   backends); default off: the test calls `flush()`.
   */
  constructor(options: { auto?: boolean } = {}) {
    this.#auto = options.auto === true;
  }

  /**
   * A transport listening at `mem://name`.
   *
   * @param name unique name.
   * @returns the transport.
   */
  transport(name: string): Transport {
    return new MemoryTransport(this, `ws://mem/${name}`);
  }

  /** @internal */
  listen(url: string, handlers: TransportHandlers): void {
    this.#listeners.set(url, handlers);
  }

  /** @internal */
  unlisten(url: string): void {
    this.#listeners.delete(url);
  }

  /** @internal */
  enqueue(f: Pending): void {
    this.#queue.push(f);
    if (this.#auto && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  /** @internal */
  connect(from: TransportHandlers, url: string): Connection {
    const remote = this.#listeners.get(url);
    if (!remote) throw new Error(`Cannot connect to ${url}: nothing listens there`);
    const id = this.#next++;
    // like a WebSocket close: frames sent before close() are still delivered, none after
    let closing = false;
    const shut = (code: number, reason: string) => {
      if (closing) return;
      closing = true;
      this.enqueue(() => from.onClose(local, code, reason));
      this.enqueue(() => remote.onClose(far, code, reason));
    };
    const local: Connection = {
      key: `mem-${id}-out`,
      channel: url,
      send: (data) =>
        !closing && this.enqueue(() => (this.delivered++, remote.onMessage(far, data))),
      close: shut,
    };
    const far: Connection = {
      key: `mem-${id}-in`,
      channel: url,
      send: (data) =>
        !closing && this.enqueue(() => (this.delivered++, from.onMessage(local, data))),
      close: shut,
    };
    this.enqueue(() => remote.onOpen(far, null));
    return local;
  }

  /**
   * Delivers queued messages (and those they cause) until none are left or `max` ran.
   *
   * @param max most deliveries (guards against endless ping-pong in a buggy node).
   * @returns deliveries run.
   */
  flush(max = 10_000_000): number {
    let n = 0;
    while (this.#queue.length > 0 && n < max) {
      const batch = this.#queue;
      this.#queue = [];
      for (const f of batch) {
        f();
        n++;
      }
    }
    return n;
  }
}

class MemoryTransport implements Transport {
  readonly #net: MemoryNetwork;
  readonly #url: string;
  #handlers: TransportHandlers | null = null;
  readonly #conns = new Set<Connection>();

  constructor(net: MemoryNetwork, url: string) {
    this.#net = net;
    this.#url = url;
  }

  start(handlers: TransportHandlers): Promise<string | null> {
    const tracked: TransportHandlers = {
      onOpen: (c, d) => (this.#conns.add(c), handlers.onOpen(c, d)),
      onMessage: (c, d) => handlers.onMessage(c, d),
      onClose: (c, code, r) => (this.#conns.delete(c), handlers.onClose(c, code, r)),
    };
    this.#handlers = tracked;
    this.#net.listen(this.#url, tracked);
    return Promise.resolve(this.#url);
  }

  dial(url: string): Promise<Connection> {
    const h = this.#handlers;
    if (!h) return Promise.reject(new Error("Cannot dial: the transport is not started"));
    try {
      const conn = this.#net.connect(h, url);
      this.#net.enqueue(() => h.onOpen(conn, url));
      return Promise.resolve(conn);
    } catch (err: unknown) {
      return Promise.reject(err); // handled by the node: becomes a dial_failed event
    }
  }

  stop(): Promise<void> {
    this.#net.unlisten(this.#url);
    for (const c of [...this.#conns]) c.close(1001, "node stopping");
    return Promise.resolve();
  }
}
