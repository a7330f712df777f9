/**
 * @module Chat templates against llama.cpp's `llama_chat_apply_template` (the oracle's `chat`
 * command): the generated `llama` model carries the Llama-3 template of the @lenml package,
 * which llama.cpp recognises and renders with its own hand-written Llama-3 code. ARIA renders
 * the jinja text with @huggingface/jinja; the strings must agree, and so must the token ids
 * (ARIA's `encodeChat` vs llama.cpp tokenizing its rendering with parse_special).
 *
 * llama_chat_apply_template writes no BOS (llama.cpp's tokenizer adds it), so ARIA's leading
 * BOS text is removed before comparing strings. Known difference, kept out of the cases: the
 * jinja `trim` strips Unicode whitespace (as Python's str.strip does for HF), llama.cpp's trim
 * only ASCII whitespace; contents here have no Unicode whitespace at their edges.
 * Skipped when the oracle cannot be built.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { openGguf } from "../../src/model/open.ts";
import {
  BUILTIN_CHAT_TEMPLATES,
  type ChatMessage,
  chatModelInfoFromGguf,
  chooseChatTemplate,
  encodeChat,
  renderChat,
} from "../../src/tokenizer/chat-template.ts";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index.ts";
import { vocabSourceFromGguf } from "../../src/tokenizer/vocab.ts";
import {
  hasLlamaOracle,
  llamaChatTemplateMany,
  llamaTokenizeMany,
} from "../helpers/llama-oracle.ts";
import { testModel } from "../helpers/models.ts";

const ORACLE = hasLlamaOracle();
const BOS = "<|begin_of_text|>";

const CONVERSATIONS: Record<string, ChatMessage[]> = {
  "one user turn": [{ role: "user", content: "What is the capital of France?" }],
  "system prompt": [
    { role: "system", content: "You are a terse assistant. Answer in one word." },
    { role: "user", content: "Capital of France?" },
  ],
  "several turns": [
    { role: "system", content: "Be helpful." },
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello! How can I help?" },
    { role: "user", content: "Tell me a joke." },
    { role: "assistant", content: "Why did the bit flip? It was ternary about it." },
    { role: "user", content: "Another one" },
  ],
  "multi-line content": [
    { role: "user", content: "Line one\nLine two\n\n  indented line\r\nlast\tline" },
    { role: "assistant", content: "```ts\nconst x = 1;\n```\n" },
    { role: "user", content: "\n\n  padded with ASCII whitespace \t\n" },
  ],
  unicode: [
    { role: "system", content: "Réponds en français, s'il te plaît. 日本語も OK." },
    { role: "user", content: "Ünïcödé: ½ — “quotes” 🚀👩‍👩‍👧 مرحبا नमस्ते e\u0301 a\u00a0b" },
  ],
  "empty message": [
    { role: "system", content: "" },
    { role: "user", content: "" },
  ],
  "special-looking text": [{ role: "user", content: "a <|eot_id|> b <|start_header_id|>x" }],
  "no messages": [],
};

let modelPath = "";
let tokenizer: Tokenizer;
let fileTemplate = "";

beforeAll(async () => {
  modelPath = await testModel({ preset: "tiny", arch: "llama", type: "tq2_0" });
  const { file } = openGguf(modelPath);
  tokenizer = createTokenizer(vocabSourceFromGguf(file));
  const choice = chooseChatTemplate(chatModelInfoFromGguf(file));
  expect(choice.source).toBe("file");
  fileTemplate = choice.template;
});

function withoutBos(text: string): string {
  return text.startsWith(BOS) ? text.slice(BOS.length) : text;
}

const NAMES = Object.keys(CONVERSATIONS);
const MESSAGES = Object.values(CONVERSATIONS);

describe.skipIf(!ORACLE)("chat templates vs llama_chat_apply_template", () => {
  test("the file's Llama-3 template renders as llama.cpp renders it", () => {
    const theirs = llamaChatTemplateMany(modelPath, MESSAGES);
    const ours = MESSAGES.map((messages) =>
      withoutBos(renderChat(messages, { template: fileTemplate, bosToken: BOS, eosToken: "" }))
    );
    expect(zip(ours)).toEqual(zip(theirs));
  });

  test("the built-in llama3 template matches llama.cpp's with and without the generation prompt", () => {
    for (const addGenerationPrompt of [true, false]) {
      const theirs = llamaChatTemplateMany(modelPath, MESSAGES, {
        template: "llama3",
        addGenerationPrompt,
      });
      const ours = MESSAGES.map((messages) =>
        withoutBos(
          renderChat(messages, {
            template: BUILTIN_CHAT_TEMPLATES.llama3,
            bosToken: BOS,
            eosToken: "",
            addGenerationPrompt,
          }),
        )
      );
      expect(zip(ours)).toEqual(zip(theirs));
    }
  });

  test("encodeChat() gives llama.cpp's ids for its rendering tokenized with parse_special", () => {
    const template = chooseChatTemplate(chatModelInfoFromGguf(openGguf(modelPath).file));
    // "special-looking text": ARIA keeps typed specials as text, llama.cpp parses them (below)
    const names = NAMES.filter((n) => n !== "special-looking text");
    const conversations = names.map((n) => CONVERSATIONS[n]!);
    const theirs = llamaTokenizeMany(modelPath, llamaChatTemplateMany(modelPath, conversations), {
      addBos: true,
      parseSpecial: true,
    });
    const ours = conversations.map((messages) => encodeChat(tokenizer, messages, { template }).ids);
    expect(zip(ours, names)).toEqual(zip(theirs, names));
  });

  test("encodeChat() keeps typed special tokens as the text llama.cpp gives them without parse_special", () => {
    const template = chooseChatTemplate(chatModelInfoFromGguf(openGguf(modelPath).file));
    const content = "a <|eot_id|> b <|start_header_id|>x";
    const ids = encodeChat(tokenizer, [{ role: "user", content }], { template }).ids;
    const [header, text, tail] = llamaTokenizeMany(modelPath, [
      "<|start_header_id|>user<|end_header_id|>\n\n",
      content,
      "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    ], { addBos: false, parseSpecial: true });
    const [plainText] = llamaTokenizeMany(modelPath, [content], {
      addBos: false,
      parseSpecial: false,
    });
    expect(text).not.toEqual(plainText); // llama.cpp would turn the typed text into specials
    expect(ids).toEqual([tokenizer.bosId!, ...header!, ...plainText!, ...tail!]);
  });
});

/** Pairs values with the conversation names, so a failure says which conversation. */
function zip<T>(values: readonly T[], names: readonly string[] = NAMES): Record<string, T> {
  return Object.fromEntries(values.map((v, i) => [names[i]!, v]));
}

describe.skipIf(!ORACLE)("built-in chatml template (qwen3 files without one)", () => {
  test("renderChat() with the built-in chatml template equals llama.cpp's chatml rendering", async () => {
    const path = await testModel({ preset: "tiny", arch: "llama", type: "tq2_0" });
    const conversations = Object.values(CONVERSATIONS);
    for (const addGenerationPrompt of [true, false]) {
      const theirs = llamaChatTemplateMany(path, conversations, {
        template: "chatml",
        addGenerationPrompt,
      });
      const ours = conversations.map((messages) =>
        renderChat(messages, {
          template: BUILTIN_CHAT_TEMPLATES.chatml,
          bosToken: BOS,
          eosToken: "<|end_of_text|>",
          addGenerationPrompt,
        })
      );
      expect(ours).toEqual(theirs);
    }
  });
});
