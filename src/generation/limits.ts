/**
 * @module Checks a request against the model's and the node's limits BEFORE it reaches a shared
 * resource (the scheduler's batch, the sampler's buffers): token ids inside the vocabulary,
 * sampling values inside the sampler's ranges, the prompt inside the context. Every input from a
 * peer and from HTTP passes here (native backend); one bad request then fails alone with a clear
 * error instead of poisoning the decode batch of every request (issue 19, holes 1 and 5). Pure.
 *
 * Decisions: `topK` above the vocabulary is clamped to it (llama.cpp's semantics: k >= n_vocab
 * keeps every token), so a huge k never allocates more than the vocabulary. Everything else out
 * of range is refused, naming the parameter.
 */
import { InvalidRequestError } from "../shared/errors.ts";
import { MAX_TOP_LOGPROBS, type SamplerOptions } from "./sampler.ts";

/** What the model and node allow. */
export interface RequestLimits {
  /** Tokens in the vocabulary: valid ids are 0..nVocab-1. */
  nVocab: number;
}

/** The parts of a request checked here. */
export interface LimitedRequest {
  sampling: Readonly<SamplerOptions>;
  maxTokens?: number | undefined;
  continueFrom?: readonly number[] | undefined;
  logprobs?: number | undefined;
}

const isId = (id: number, nVocab: number) => Number.isInteger(id) && id >= 0 && id < nVocab;

/**
 * Validates a request's parameters.
 *
 * @param request sampling, limits and fail-over tokens.
 * @param limits the model's vocabulary size.
 * @returns the sampling options to use (topK clamped to the vocabulary).
 * @throws {InvalidRequestError} naming the first parameter out of range.
 */
export function checkRequestLimits(
  request: Readonly<LimitedRequest>,
  limits: Readonly<RequestLimits>,
): SamplerOptions {
  const { nVocab } = limits;
  const bad = (param: string, message: string) => new InvalidRequestError(param, message);
  for (const id of request.continueFrom ?? []) {
    if (!isId(id, nVocab)) {
      throw bad(
        "continueFrom",
        `Invalid token id ${id} in continueFrom: expected 0..${nVocab - 1}`,
      );
    }
  }
  const s = request.sampling;
  for (const id of s.logitBias?.keys() ?? []) {
    if (!isId(id, nVocab)) {
      throw bad("logitBias", `Invalid token id ${id} in logit_bias: expected 0..${nVocab - 1}`);
    }
  }
  for (const bias of s.logitBias?.values() ?? []) {
    if (!Number.isFinite(bias)) {
      throw bad("logitBias", `Invalid logit bias ${bias}: expected finite`);
    }
  }
  const range = (name: string, v: number | undefined, ok: (v: number) => boolean, want: string) => {
    if (v !== undefined && !ok(v)) throw bad(name, `Invalid ${name} ${v}: expected ${want}`);
  };
  range("temperature", s.temperature, (v) => v >= 0 && Number.isFinite(v), ">= 0");
  range("topK", s.topK, (v) => Number.isInteger(v) && v >= 0, "an integer >= 0");
  range("topP", s.topP, (v) => v > 0 && v <= 1, "0 < top_p <= 1");
  range("minP", s.minP, (v) => v >= 0 && v <= 1, "0..1");
  range("repeatPenalty", s.repeatPenalty, (v) => v > 0 && Number.isFinite(v), "> 0");
  range("repeatLastN", s.repeatLastN, (v) => Number.isInteger(v) && v >= -1, "an integer >= -1");
  range("frequencyPenalty", s.frequencyPenalty, Number.isFinite, "finite");
  range("presencePenalty", s.presencePenalty, Number.isFinite, "finite");
  range("maxTokens", request.maxTokens, (v) => Number.isInteger(v) && v >= 0, "an integer >= 0");
  range(
    "logprobs",
    request.logprobs,
    (v) => Number.isInteger(v) && v >= 0 && v <= MAX_TOP_LOGPROBS,
    `an integer in 0..${MAX_TOP_LOGPROBS}`,
  );
  // clamped, not refused: k >= the vocabulary keeps every token (llama.cpp), and the sampler's
  // buffers are then bounded by the vocabulary, not by the client's number
  return s.topK !== undefined && s.topK > nVocab ? { ...s, topK: nVocab } : { ...s };
}
