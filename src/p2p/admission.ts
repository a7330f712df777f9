/**
 * @module Who gets a connection slot (issue 19, hole 7): connections that have not finished the
 * handshake are limited per address and overall, and when a limit is reached the OLDEST pending
 * handshake gives way to the newcomer (of the same address, or else of the address holding the
 * most), instead of the newcomer being refused. Idle sockets that never handshake therefore
 * cannot keep an honest node out: its handshake needs milliseconds, while a flood's sockets are
 * evicted in arrival order and closed anyway at the short handshake deadline. Authenticated
 * peers are never evicted for a newcomer; when every slot holds one, the newcomer is refused.
 * Pure: the node passes its sessions in and closes what this returns.
 */

/** A connection still in its handshake. */
export interface PendingConnection {
  key: string;
  /** Remote address (null: one we dialled, never evicted by inbound newcomers' address rule). */
  address: string | null;
  openedMs: number;
}

/** The limits. */
export interface AdmissionLimits {
  /** Most connections in all (authenticated + pending). */
  maxSessions: number;
  /** Most pending handshakes in all. */
  maxPending: number;
  /** Most pending handshakes from one address. */
  maxPendingPerAddress: number;
}

/** Defaults. Why: 256 sessions is the node's historical cap; 16 pending handshakes per address
 * are far above what honest dialling needs (a node dials a few peers at a time). Pending in all
 * may fill every session: a bootstrap node meets flash crowds (tests/p2p/discovery.test.ts: 199
 * nodes dialling it in the same instant), and 64 made it evict honest handshakes it would have
 * finished in milliseconds; the flood protection is the per-address cap and the eviction of the
 * oldest, which let a newcomer in whatever the limit. */
export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxSessions: 256,
  maxPending: 256,
  maxPendingPerAddress: 16,
};

/** The decision: connections to close first, or a refusal of the newcomer. */
export type Admission = { admit: true; evict: string[] } | { admit: false; reason: string };

/**
 * Decides on a new inbound connection.
 *
 * @param pending the connections still in their handshake.
 * @param authenticated how many connections hold authenticated peers.
 * @param address the newcomer's address (null when unknown).
 * @param limits the limits.
 * @returns whom to evict (oldest first), or a refusal.
 */
export function admit(
  pending: readonly PendingConnection[],
  authenticated: number,
  address: string | null,
  limits: Readonly<AdmissionLimits> = DEFAULT_ADMISSION,
): Admission {
  if (authenticated >= limits.maxSessions) {
    return { admit: false, reason: "Too many connections" };
  }
  const byAge = [...pending].sort((a, b) => a.openedMs - b.openedMs || (a.key < b.key ? -1 : 1));
  const evict = new Set<string>();
  const live = () => byAge.filter((p) => !evict.has(p.key));
  const same = live().filter((p) => address !== null && p.address === address);
  if (same.length >= limits.maxPendingPerAddress) {
    for (const p of same.slice(0, same.length - limits.maxPendingPerAddress + 1)) evict.add(p.key);
  }
  const excess = () =>
    Math.max(
      live().length - limits.maxPending + 1,
      authenticated + live().length - limits.maxSessions + 1,
    );
  while (excess() > 0 && live().length > 0) evict.add(oldestOfBusiest(live()));
  return { admit: true, evict: [...evict] };
}

/** The oldest pending connection of the address that holds the most. */
function oldestOfBusiest(pending: readonly PendingConnection[]): string {
  const counts = new Map<string | null, number>();
  for (const p of pending) counts.set(p.address, (counts.get(p.address) ?? 0) + 1);
  let busiest: string | null = pending[0]!.address;
  for (const [a, n] of counts) if (n > counts.get(busiest)!) busiest = a;
  return pending.find((p) => p.address === busiest)!.key;
}
