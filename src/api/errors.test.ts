import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { ContextOverflowError } from "../generation/generate.ts";
import { CapacityError } from "../shared/errors.ts";
import { ChatTemplateError } from "../tokenizer/chat-template.ts";
import { authError, bodyTooLarge, invalidJson, modelNotFound, toOpenAIError } from "./errors.ts";

describe("toOpenAIError", () => {
  test("ZodError: 400 with param = first issue path joined with '.'", () => {
    const r = z.object({ a: z.array(z.number()) }).safeParse({ a: [1, "x"] });
    const m = toOpenAIError(r.error);
    expect(m.status).toBe(400);
    expect(m.body.error.type).toBe("invalid_request_error");
    expect(m.body.error.param).toBe("a.1");
    expect(m.body.error.code).toBeNull();
    expect(m.internal).toBe(false);
  });
  test("each mapped class", () => {
    const rows: [unknown, number, string, string | null][] = [
      [new ContextOverflowError(10, 8), 400, "invalid_request_error", "context_length_exceeded"],
      [new ChatTemplateError("raise", "Roles must alternate"), 400, "invalid_request_error", null],
      [authError(), 401, "authentication_error", "invalid_api_key"],
      [modelNotFound("x"), 404, "not_found_error", "model_not_found"],
      [invalidJson(new SyntaxError("x")), 400, "invalid_request_error", "invalid_json"],
      [bodyTooLarge(10), 413, "invalid_request_error", "request_too_large"],
      [new CapacityError("full"), 503, "unavailable_error", null],
    ];
    for (const [err, status, type, code] of rows) {
      const m = toOpenAIError(err);
      expect<unknown[]>([m.status, m.body.error.type, m.body.error.code, m.internal])
        .toEqual([status, type, code, false]);
    }
  });
  test("anything else: 500, fixed message, internal", () => {
    for (const err of [new Error("/secret/path"), "str", undefined]) {
      const m = toOpenAIError(err);
      expect(m).toEqual({
        status: 500,
        body: {
          error: {
            message: "Internal server error",
            type: "server_error",
            param: null,
            code: null,
          },
        },
        internal: true,
      });
    }
  });
  test("CapacityError carries Retry-After", () => {
    expect(toOpenAIError(new CapacityError("full")).headers).toEqual({ "retry-after": "1" });
  });
});
