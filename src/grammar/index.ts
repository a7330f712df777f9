/**
 * @module The grammar folder's public surface: GBNF parsing (llama.cpp's `grammar` syntax), the
 * incremental matcher, the vocabulary trie, the token constraint the generation loop uses, and
 * JSON Schema -> GBNF for `response_format`. Pure.
 */
export {
  type CharClass,
  ELEMENT,
  type Grammar,
  GRAMMAR_LIMITS,
  GrammarError,
  parseGrammar,
} from "./parse.ts";
export {
  GrammarRuntime,
  MATCHER_LIMITS,
  type MatchState,
  type StackSet,
  type StepGroups,
} from "./matcher.ts";
export {
  allowedTokens,
  allowedTokensRef,
  createVocabTrie,
  MAX_TOKEN_BYTES,
  stepToken,
  type VocabTrie,
} from "./trie.ts";
export {
  constraintFor,
  createGrammarConstraint,
  type TrieTokenizer,
  vocabTrieOf,
} from "./constraint.ts";
export {
  gbnfLiteral,
  JSON_OBJECT_GRAMMAR,
  JsonSchemaError,
  jsonSchemaToGrammar,
} from "./json-schema.ts";
export {
  MAX_PARALLEL_TOOL_CALLS,
  prefixRules,
  toolCallGrammar,
  type ToolGrammarFunction,
  type ToolGrammarOptions,
} from "./tool-call.ts";
export { createTriggeredConstraint, triggeredConstraintFor } from "./triggered.ts";
