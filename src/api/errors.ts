/**
 * @module The one place where errors become OpenAI-style wire bodies (STYLE.md B7.3):
 * `toOpenAIError(err)` returns `{ status, body: { error: { message, type, param, code } } }`.
 * Routes never build error JSON; they throw, and `app.onError` / `notFound` / the SSE writer call
 * this. Internals (stacks, native status strings, file paths) never reach `body`: anything not in
 * the table becomes a 500 "Internal server error" with `internal: true`, and the caller logs the
 * original with the request id. Pure.
 *
 * | error                      | status | type                  | code                    |
 * | -------------------------- | ------ | --------------------- | ----------------------- |
 * | ZodError                   | 400    | invalid_request_error | null (param = path)     |
 * | invalid JSON               | 400    | invalid_request_error | invalid_json            |
 * | ContextOverflowError       | 400    | invalid_request_error | context_length_exceeded |
 * | ChatTemplateError          | 400    | invalid_request_error | null (param = messages) |
 * | GrammarError               | 400    | invalid_request_error | invalid_grammar         |
 * | JsonSchemaError            | 400    | invalid_request_error | unsupported_parameter   |
 * | UnsupportedParameterError  | 400    | invalid_request_error | unsupported_parameter   |
 * | auth                       | 401    | authentication_error  | invalid_api_key         |
 * | ConsentDeniedError         | 403    | permission_error      | CONSENT_DENIED          |
 * | unknown model              | 404    | not_found_error       | model_not_found         |
 * | unknown route              | 404    | not_found_error       | null                    |
 * | body too large             | 413    | invalid_request_error | request_too_large       |
 * | ConsentBusyError           | 503    | unavailable_error     | BUSY (Retry-After: 1)   |
 * | CapacityError              | 503    | unavailable_error     | null (Retry-After: 1)   |
 * | model still loading        | 503    | unavailable_error     | model_loading           |
 * | anything else              | 500    | server_error          | null                    |
 *
 * Decisions to review: `type` follows llama.cpp's set (OpenAI itself says invalid_request_error
 * for an unknown model; clients key on `code`, which is OpenAI's). A full queue is 503 rather
 * than 429: 429 tells OpenAI clients "you are rate limited", while a full queue is the server's
 * state, not the caller's fault; both are retried by the official clients.
 */
import { ZodError } from "zod";
import {
  CapacityError,
  ConsentBusyError,
  ConsentDeniedError,
  UnsupportedParameterError,
} from "../shared/errors.ts";
import { GrammarError, JsonSchemaError } from "../grammar/index.ts";
import { ContextOverflowError } from "../generation/generate.ts";
import { ChatTemplateError } from "../tokenizer/chat-template.ts";

/** The OpenAI error body. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** What `toOpenAIError` returns. */
export interface MappedError {
  status: 400 | 401 | 403 | 404 | 413 | 500 | 503;
  body: OpenAIErrorBody;
  headers?: Record<string, string>;
  /** True when the error was unexpected: log the original with the request id. */
  internal: boolean;
}

/** An error the API raises itself with a known wire shape (auth, unknown model, bad JSON…). */
export class ApiError extends Error {
  /**
   * @param status HTTP status.
   * @param type OpenAI error type.
   * @param message message sent to the client (no internals).
   * @param options param and code of the body, and `cause`.
   */
  constructor(
    readonly status: 400 | 401 | 404 | 413 | 503,
    readonly type: string,
    message: string,
    readonly options: { param?: string; code?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
  }
}

/** 401: missing or wrong API key. */
export function authError(): ApiError {
  return new ApiError(401, "authentication_error", "Invalid API key: expected a Bearer token", {
    code: "invalid_api_key",
  });
}

/**
 * 404: a model the backend does not serve.
 *
 * @param model the name the client asked for.
 */
export function modelNotFound(model: string): ApiError {
  return new ApiError(404, "not_found_error", `The model "${model}" does not exist`, {
    param: "model",
    code: "model_not_found",
  });
}

/**
 * 404: no route for this method and path.
 *
 * @param method HTTP method.
 * @param path request path.
 */
export function routeNotFound(method: string, path: string): ApiError {
  return new ApiError(404, "not_found_error", `Unknown route: ${method} "${path}"`);
}

/**
 * 400: the body is not JSON.
 *
 * @param cause the parser's error.
 */
export function invalidJson(cause: unknown): ApiError {
  return new ApiError(400, "invalid_request_error", "Cannot parse the request body as JSON", {
    code: "invalid_json",
    cause,
  });
}

/**
 * 413: the body is larger than the limit.
 *
 * @param maxBytes the limit.
 */
export function bodyTooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "invalid_request_error", `Request body exceeds ${maxBytes} bytes`, {
    code: "request_too_large",
  });
}

/** 503: the backend is still loading its model. */
export function modelLoading(): ApiError {
  return new ApiError(503, "unavailable_error", "The model is loading: retry shortly", {
    code: "model_loading",
  });
}

function body(message: string, type: string, param?: string, code?: string): OpenAIErrorBody {
  return { error: { message, type, param: param ?? null, code: code ?? null } };
}

function zodMapping(err: ZodError): MappedError {
  const issue = err.issues[0];
  const path = issue ? issue.path.map(String).join(".") : "";
  const detail = issue?.message ?? "invalid value";
  const message = path === ""
    ? `Invalid request body: ${detail}`
    : `Invalid value for "${path}": ${detail}`;
  return {
    status: 400,
    body: body(message, "invalid_request_error", path === "" ? undefined : path),
    internal: false,
  };
}

/**
 * Maps any thrown value to an OpenAI-style error (the table in the module header).
 *
 * @param err what was thrown.
 * @returns status, body, extra headers and whether it was unexpected.
 * @example
 * ```ts
 * toOpenAIError(modelNotFound("gpt-9")).body.error.code; // "model_not_found"
 * ```
 */
export function toOpenAIError(err: unknown): MappedError {
  if (err instanceof ApiError) {
    const { param, code } = err.options;
    return { status: err.status, body: body(err.message, err.type, param, code), internal: false };
  }
  if (err instanceof ZodError) return zodMapping(err);
  if (err instanceof ContextOverflowError) {
    const b = body(err.message, "invalid_request_error", undefined, "context_length_exceeded");
    return { status: 400, body: b, internal: false };
  }
  if (err instanceof ChatTemplateError) {
    const msg = `Cannot apply the chat template: ${err.message}`;
    return { status: 400, body: body(msg, "invalid_request_error", "messages"), internal: false };
  }
  if (err instanceof GrammarError) {
    const b = body(err.message, "invalid_request_error", "grammar", "invalid_grammar");
    return { status: 400, body: b, internal: false };
  }
  if (err instanceof JsonSchemaError) {
    const b = body(
      err.message,
      "invalid_request_error",
      "response_format",
      "unsupported_parameter",
    );
    return { status: 400, body: b, internal: false };
  }
  if (err instanceof UnsupportedParameterError) {
    const b = body(err.message, "invalid_request_error", err.param, "unsupported_parameter");
    return { status: 400, body: b, internal: false };
  }
  if (err instanceof ConsentDeniedError) {
    // The reason is the owner's policy in words: it tells the client what to change, no internals.
    const b = body(err.message, "permission_error", undefined, "CONSENT_DENIED");
    return { status: 403, body: b, internal: false };
  }
  if (err instanceof ConsentBusyError) {
    return {
      status: 503,
      body: body(err.message, "unavailable_error", undefined, "BUSY"),
      // Why 1 s: a concurrency slot frees when any running request ends.
      headers: { "retry-after": "1" },
      internal: false,
    };
  }
  if (err instanceof CapacityError) {
    return {
      status: 503,
      body: body("The server is at capacity: retry shortly", "unavailable_error"),
      // Why 1 s: a queue slot frees within a generation step or two.
      headers: { "retry-after": "1" },
      internal: false,
    };
  }
  return { status: 500, body: body("Internal server error", "server_error"), internal: true };
}
