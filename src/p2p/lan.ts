/**
 * @module LAN announcements (opt-in, `--lan-discovery`; docs/protocol.md "LAN discovery"): a node
 * that listens multicasts a signed datagram naming its id and peer address every few seconds;
 * nodes on the same network that read one dial the address as they would a bootstrap peer (the
 * ordinary handshake then authenticates the id). Every datagram is hostile until checked here:
 * size, JSON shape, version, freshness, signature, an address on the sender's own host, and a rate
 * per sender. Pure: the clock reading, the verifier and the host's own addresses come in.
 */
import { z } from "zod";

/** The multicast group and port. Why 239.255.x: the organisation-local scope (RFC 2365), never
 * routed beyond the site. */
export const LAN_GROUP = "239.255.42.99";
/** UDP port of the announcements. */
export const LAN_PORT = 47474;
/** Largest datagram read (bytes). Why 512: an announcement is under 400 bytes. */
export const LAN_MAX_BYTES = 512;
/** How often a node announces itself (ms). */
export const LAN_ANNOUNCE_MS = 5_000;
/** Announcements older or further ahead than this are refused (ms): replays of old datagrams. */
export const LAN_MAX_SKEW_MS = 60_000;
/** One announcement per sender is acted on per this period (ms). */
export const LAN_PER_SENDER_MS = 10_000;
/** Domain separation of the signature. */
export const LAN_SIGN_DOMAIN = "aria-lan/1\n";

const announcementSchema = z.object({
  v: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  url: z.string().max(200).regex(/^wss?:\/\/[^\s/]+$/),
  ts: z.number().int().min(0),
  sig: z.string().regex(/^[0-9a-f]{128}$/),
}).strict();

/** A checked announcement. */
export type Announcement = z.infer<typeof announcementSchema>;

const encoder = new TextEncoder();

/** The bytes signed: domain + JSON array [id, url, ts]. */
export function lanSigningBytes(a: Pick<Announcement, "id" | "url" | "ts">): Uint8Array {
  return encoder.encode(LAN_SIGN_DOMAIN + JSON.stringify([a.id, a.url, a.ts]));
}

/**
 * Builds our datagram.
 *
 * @param id our node id. @param url where we accept peers. @param ts clock reading.
 * @param sign ed25519 signer (hex).
 */
export function encodeAnnouncement(
  id: string,
  url: string,
  ts: number,
  sign: (bytes: Uint8Array) => string,
): Uint8Array {
  const sig = sign(lanSigningBytes({ id, url, ts }));
  return encoder.encode(JSON.stringify({ v: 1, id, url, ts, sig }));
}

/** What checking needs. */
export interface LanCheck {
  self: string;
  now: number;
  /** The datagram's source address. */
  source: string;
  /** This machine's own addresses (a loopback url is accepted only from one of them). */
  ownAddresses: ReadonlySet<string>;
  verify(id: string, bytes: Uint8Array, sig: string): boolean;
  /** When each sender was last acted on. */
  lastBySender: ReadonlyMap<string, number>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/**
 * Checks a datagram.
 *
 * @returns the announcement to act on, or why it is ignored.
 */
export function checkAnnouncement(
  bytes: Uint8Array,
  c: LanCheck,
): { ok: true; value: Announcement } | { ok: false; error: string } {
  // handled here, each case ignored with its reason (the shell counts them):
  if (bytes.length > LAN_MAX_BYTES) return { ok: false, error: "too_large" };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, error: "not_json" };
  }
  const parsed = announcementSchema.safeParse(json);
  if (!parsed.success) return { ok: false, error: "bad_shape" };
  const a = parsed.data;
  if (a.id === c.self) return { ok: false, error: "self" };
  if (Math.abs(c.now - a.ts) > LAN_MAX_SKEW_MS) return { ok: false, error: "stale" };
  const host = new URL(a.url).hostname;
  const source = c.source.replace(/^::ffff:/, "");
  // the address must be the sender's own host, so nobody can aim a LAN's nodes at a third party;
  // a loopback address only from this very machine
  const sameHost = host === source ||
    (LOOPBACK.test(host) && (c.ownAddresses.has(source) || LOOPBACK.test(source)));
  if (!sameHost) return { ok: false, error: "foreign_address" };
  const last = c.lastBySender.get(a.id);
  if (last !== undefined && c.now - last < LAN_PER_SENDER_MS) return { ok: false, error: "rate" };
  if (!c.verify(a.id, lanSigningBytes(a), a.sig)) return { ok: false, error: "bad_signature" };
  return { ok: true, value: a };
}
