/**
 * @module Shell: the simplest transport for pipeline stages — one HTTP POST per tensor frame on
 * loopback or a LAN (request body = frame, response body = reply frame). `aria serve --layers`
 * mounts `createStageHandler` on its port; the coordinator reaches it with `createHttpStageLink`.
 * It carries the same tensor frames as the p2p transport (stage-p2p.ts, binary messages with a
 * correlation id). It has no authentication, so `aria serve --layers` binds it to 127.0.0.1 only
 * (local tools, tests, benchmarks); peers reach stages through the p2p port.
 */
import type { StageLink } from "./pipeline.ts";
import type { StageServer } from "./stage.ts";
import { MAX_TENSOR_FRAME_BYTES } from "./tensor-frame.ts";

/** Where stages answer frames. */
export const STAGE_PATH = "/stage";

/** What GET /stage reports (what a p2p advert will carry). */
export interface StageInfo {
  nodeId: string;
  role: "stage";
  layerBegin: number;
  layerEnd: number;
  nLayer: number;
  sessions: number;
}

/**
 * The fetch handler of a stage node: POST /stage (frame in, frame out), GET /stage (info),
 * GET /health. Bad requests get a status, never an exception: 413 for a body over the frame cap
 * (by Content-Length before reading, and by size after), 405 for other methods, 404 elsewhere;
 * a malformed frame gets a 200 with an error frame (stage.handle never throws).
 *
 * @param stage the stage.
 * @param nodeId this node's id, reported by GET /stage.
 * @returns the handler for Bun.serve.
 */
export function createStageHandler(
  stage: StageServer,
  nodeId: string,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/health") return Response.json({ status: "ready", role: "stage" });
    if (url.pathname !== STAGE_PATH) return new Response("Not found", { status: 404 });
    if (req.method === "GET") {
      const info: StageInfo = {
        nodeId,
        role: "stage",
        layerBegin: stage.layerBegin,
        layerEnd: stage.layerEnd,
        nLayer: stage.nLayer,
        sessions: stage.sessionCount,
      };
      return Response.json(info);
    }
    if (req.method !== "POST") return new Response("Use POST", { status: 405 });
    const declared = Number(req.headers.get("content-length") ?? "0");
    if (declared > MAX_TENSOR_FRAME_BYTES) return new Response("Frame too large", { status: 413 });
    const body = new Uint8Array(await req.arrayBuffer());
    if (body.length > MAX_TENSOR_FRAME_BYTES) {
      return new Response("Frame too large", { status: 413 });
    }
    // frames are built in fresh ArrayBuffers (tensor-frame.ts), never shared memory
    return new Response(stage.handle(body) as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "application/octet-stream" },
    });
  };
}

/**
 * A `StageLink` over HTTP POST.
 *
 * @param nodeId the id the route knows the stage by.
 * @param baseUrl the stage node's URL, e.g. "http://127.0.0.1:8080".
 * @returns the link; a non-200 status or a dropped connection rejects (= stage failure).
 */
export function createHttpStageLink(nodeId: string, baseUrl: string): StageLink {
  const url = new URL(STAGE_PATH, baseUrl).toString();
  return {
    nodeId,
    async request(frame: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
      const res = await fetch(url, {
        method: "POST",
        body: frame as Uint8Array<ArrayBuffer>, // see the route above: a fresh buffer
        headers: { "content-type": "application/octet-stream" },
        signal,
      });
      if (res.status !== 200) {
        throw new Error(`Stage ${nodeId} answered HTTP ${res.status}: ${await res.text()}`);
      }
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}
