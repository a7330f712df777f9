/**
 * @module GET /v1/models and GET /v1/models/:id: the backend's models in OpenAI's `model`
 * shape (plus `context_length`, as llama.cpp's server reports it, and for a local model
 * `weight_types`, the types its weights run as after repacking). Model ids may contain "/",
 * so `:id` matches the rest of the path. Pure given the backend.
 */
import { Hono } from "hono";
import type { AppEnv, RouteDeps } from "../_context.ts";
import { modelNotFound } from "../errors.ts";
import type { ModelCard } from "../../contract/index.ts";

function wire(m: ModelCard) {
  return {
    id: m.id,
    object: "model",
    created: m.created,
    owned_by: m.ownedBy,
    context_length: m.contextLength,
    ...(m.weightTypes !== undefined ? { weight_types: m.weightTypes } : {}),
  };
}

/**
 * The models routes.
 *
 * @param deps the backend.
 * @returns a hono sub-app to mount at "/".
 */
export function modelsRoute(deps: Pick<RouteDeps, "backend">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // each alias is listed as a model of its own (same facts), as clients pick names from the list
  const listed = () =>
    deps.backend.listModels().flatMap((m) => [m, ...(m.aliases ?? []).map((id) => ({ ...m, id }))]);
  app.get("/v1/models", (c) => c.json({ object: "list", data: listed().map(wire) }));
  app.get("/v1/models/:id{.+}", (c) => {
    const id = c.req.param("id");
    const card = listed().find((m) => m.id === id);
    if (!card) throw modelNotFound(id);
    return c.json(wire(card));
  });
  return app;
}
