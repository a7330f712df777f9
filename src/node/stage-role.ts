/**
 * @module The pipeline-stage role of a node (`aria serve --layers A-B`) [S]: loads only those
 * blocks. With --p2p-port / --peers it joins the peer network, advertises its blocks and
 * answers tensor frames from authenticated peers, each session admitted by the consent gate
 * (src/node/pipeline-roles.ts). POST /stage answers the same frames on 127.0.0.1 only, whatever
 * --host says: it has no authentication (src/pipeline/stage-http.ts). The OpenAI API is not
 * served: a partial model cannot complete a prompt on its own. Moved from src/cli/serve.ts
 * (`serveStage`); what it starts goes on the node's disposal stack.
 */
import { ConfigError, type ServeConfig } from "../config/index.ts";
import { engineThreads, type PolicyGate, policySummary } from "../consent/index.ts";
import type { NodeIdentity } from "../identity/index.ts";
import { resolveModelPath } from "../model/index.ts";
import { createStageHandler, parseLayerRange, STAGE_PATH } from "../pipeline/index.ts";
import type { Clock } from "../shared/clock.ts";
import type { Log } from "../shared/log.ts";
import { HttpListener } from "./http.ts";
import { modelIdOf, openStage, startStagePeer } from "./pipeline-roles.ts";
import { recordConsentChange } from "./policy-ledger.ts";
import { watchPolicy } from "./policy-watch.ts";

/**
 * Starts the stage: its blocks, the policy watcher, the peer node (when asked for) and the
 * loopback stage endpoint, each put on `stack`.
 *
 * @returns the stage endpoint's URL.
 * @throws {ConfigError} for a bad range or a backend other than native.
 * @throws {EngineError} when the model or the range cannot be loaded.
 */
export async function startStageRole(
  config: ServeConfig,
  node: Readonly<{
    identity: NodeIdentity;
    gate: PolicyGate;
    clock: Clock;
    log: Log;
    print: (line: string) => void;
  }>,
  stack: AsyncDisposableStack,
): Promise<string> {
  const range = parseLayerRange(config.layers!);
  if (config.backend !== "native") {
    throw new ConfigError(
      `Cannot use --layers with --backend ${config.backend}: stages run the native engine`,
    );
  }
  const { identity, gate, log, print } = node;
  const nodeId = identity.nodeId;
  const modelPath = await resolveModelPath(config.model, config.dataDir);
  const threads = engineThreads(gate.policy, config.threads);
  const stage = await openStage(config, { modelPath, range, threads });
  stack.defer(() => stage.close());
  const modelId = modelIdOf(config, modelPath);
  // a stage keeps no provenance ledger open: each change is recorded in the node's ledger file
  // by opening it for that one record (as `aria consent set` does)
  const stopWatching = watchPolicy(config.dataDir, identity, gate, log, (policyHash) => {
    recordConsentChange(config.dataDir, { newHash: policyHash, atMs: node.clock.nowMs() }, log);
  });
  stack.defer(stopWatching);
  const http = new HttpListener(stack);
  const peer = config.p2pPort !== undefined || config.peers !== undefined
    ? await startStagePeer(config, identity, stage, {
      modelPath,
      modelId,
      admit: () => gate.admit({ model: modelId, kind: "pipeline-stage", fromPeer: true }),
      consentSummary: () => ({ ...policySummary(gate.policy) }),
    })
    : null;
  if (peer) stack.defer(() => peer.stop());
  // loopback only: POST /stage has no authentication (peers use the p2p port)
  const port = http.listen(stack, {
    port: config.port,
    hostname: "127.0.0.1",
    fetch: createStageHandler(stage, nodeId),
  });
  const url = `http://127.0.0.1:${port}${STAGE_PATH}`;
  if (peer) print(`ARIA peer node listening on ${peer.url} (node ${nodeId})`);
  print(
    `ARIA stage listening on ${url} (blocks ${stage.layerBegin}-${stage.layerEnd} of ${stage.nLayer}, node ${nodeId})`,
  );
  return url;
}
