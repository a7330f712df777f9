/**
 * @module LAN discovery (shell, opt-in): a UDP socket joined to the multicast group of lan.ts;
 * announces this node every LAN_ANNOUNCE_MS while it listens, and dials the nodes whose
 * announcements pass `checkAnnouncement`. Counts what it ignored, by reason.
 */
import dgram from "node:dgram";
import { networkInterfaces } from "node:os";
import {
  checkAnnouncement,
  encodeAnnouncement,
  LAN_ANNOUNCE_MS,
  LAN_GROUP,
  LAN_PORT,
} from "./lan.ts";

/** What LAN discovery needs from the node. */
export interface LanDeps {
  self: string;
  /** Where we accept peers (null: we only listen, never announce). */
  url: string | null;
  sign(bytes: Uint8Array): string;
  verify(id: string, bytes: Uint8Array, sig: string): boolean;
  clock: { nowMs(): number };
  /** Dials a node found on the LAN. */
  dial(id: string, url: string): void;
  log?: (entry: Record<string, unknown>) => void;
  /** The group's port (tests run several groups apart). */
  port?: number;
}

/** A running LAN discovery. */
export interface LanDiscovery {
  /** Announcements acted on, and ignored ones by reason. */
  readonly counts: Record<string, number>;
  stop(): void;
}

/**
 * Starts LAN discovery.
 *
 * @returns the running discovery; stop() closes the socket.
 * @throws the socket error when the port cannot be bound.
 */
export async function startLanDiscovery(d: LanDeps): Promise<LanDiscovery> {
  const port = d.port ?? LAN_PORT;
  const counts: Record<string, number> = {};
  const last = new Map<string, number>();
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) own.add(a.address);
  }
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  socket.on("message", (msg, rinfo) => {
    const now = d.clock.nowMs();
    const r = checkAnnouncement(new Uint8Array(msg), {
      self: d.self,
      now,
      source: rinfo.address,
      ownAddresses: own,
      verify: d.verify,
      lastBySender: last,
    });
    if (!r.ok) {
      counts[r.error] = (counts[r.error] ?? 0) + 1; // handled here: ignored, counted
      return;
    }
    counts["accepted"] = (counts["accepted"] ?? 0) + 1;
    last.set(r.value.id, now);
    if (last.size > 1024) last.delete(last.keys().next().value!); // bounded
    d.dial(r.value.id, r.value.url);
  });
  // terminated: a socket error after start is logged; discovery just stops hearing
  socket.on("error", (err) => d.log?.({ event: "lan_discovery_error", error: String(err) }));
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  socket.addMembership(LAN_GROUP);
  socket.setMulticastLoopback(true); // two nodes on one host find each other too
  socket.setMulticastTTL(1); // never beyond the local network
  const announce = () => {
    if (d.url === null) return;
    const bytes = encodeAnnouncement(d.self, d.url, d.clock.nowMs(), d.sign);
    // terminated: a send failure is logged; the next announcement tries again
    socket.send(bytes, port, LAN_GROUP, (err) => {
      if (err) d.log?.({ event: "lan_announce_error", error: String(err) });
    });
  };
  announce();
  const timer = setInterval(announce, LAN_ANNOUNCE_MS);
  return {
    counts,
    stop() {
      clearInterval(timer);
      socket.close();
    },
  };
}
