import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testTokenizer } from "../../tests/tokenizer/fixtures.ts";
import {
  BUILTIN_CHAT_TEMPLATES,
  type ChatMessage,
  ChatTemplateError,
  type ChatTool,
  chooseChatTemplate,
  encodeChat,
  isToolAwareTemplate,
  renderChat,
} from "./chat-template.ts";
import { toolsAsText } from "./_tool-prompt.ts";

const QWEN3 = readFileSync(
  join(import.meta.dir, "../../tests/fixtures/templates/qwen3-0.6b.jinja"),
  "utf8",
);
const WEATHER: ChatTool = {
  name: "get_weather",
  description: "Weather",
  parameters: { type: "object", properties: { city: { type: "string" } } },
};
const HISTORY: ChatMessage[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Weather in Paris?" },
  {
    role: "assistant",
    content: "",
    toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city": "Paris"}' }],
  },
  { role: "tool", content: "sunny", toolCallId: "call_1" },
  { role: "tool", content: "22C", toolCallId: "call_2" },
];

describe("chat templates with tools", () => {
  test("Qwen3's own template gets tools and calls as Hugging Face passes them", () => {
    expect(isToolAwareTemplate(QWEN3)).toBe(true);
    const prompt = renderChat(HISTORY, {
      template: QWEN3,
      bosToken: "",
      eosToken: "<|im_end|>",
      tools: [WEATHER],
    });
    // what transformers' apply_chat_template writes for this conversation (json.dumps spacing)
    expect(prompt).toBe(
      "<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist " +
        "with the user query.\n\nYou are provided with function signatures within <tools></tools> " +
        'XML tags:\n<tools>\n{"type": "function", "function": {"name": "get_weather", ' +
        '"description": "Weather", "parameters": {"type": "object", "properties": {"city": ' +
        '{"type": "string"}}}}}\n</tools>\n\nFor each function call, return a json object with ' +
        "function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n" +
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' +
        "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n" +
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
        "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\n22C\n" +
        "</tool_response><|im_end|>\n<|im_start|>assistant\n",
    );
  });

  test("Qwen3 without tools renders as before (no tools variable)", () => {
    const chat = [{ role: "user", content: "Hi" }];
    expect(renderChat(chat, { template: QWEN3, bosToken: "", eosToken: "", tools: [] })).toBe(
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  test("a built-in template gets the Hermes format written into the messages", () => {
    expect(isToolAwareTemplate(BUILTIN_CHAT_TEMPLATES["bitnet-b1.58"])).toBe(false);
    const prompt = renderChat(HISTORY.slice(1), {
      bosToken: "<s>",
      eosToken: "</s>",
      family: "bitnet-b1.58",
      tools: [WEATHER],
    });
    expect(prompt).toBe(
      "<s>System: # Tools\n\nFunctions:\n<tools>\n" +
        '{"name":"get_weather","description":"Weather","parameters":{"type":"object",' +
        '"properties":{"city":{"type":"string"}}}}\n</tools>\n\nTo call one, answer:\n' +
        '<tool_call>\n{"name": <name>, "arguments": <JSON object>}\n</tool_call><|eot_id|>' +
        "User: Weather in Paris?<|eot_id|>" +
        'Assistant: <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n' +
        "</tool_call><|eot_id|>" +
        "User: <tool_response>\nsunny\n</tool_response>\n<tool_response>\n22C\n" +
        "</tool_response><|eot_id|>Assistant: ",
    );
  });

  test("toolsAsText appends the tools to an existing system message and keeps text", () => {
    const out = toolsAsText([
      { role: "system", content: "Be brief." },
      {
        role: "assistant",
        content: "Let me see.",
        toolCalls: [{ id: "x", name: "f", arguments: "" }],
      },
    ], [{ name: "f" }]);
    expect(out[0]!.content.startsWith("Be brief.\n\n# Tools\n")).toBe(true);
    expect(out[0]!.content).toContain('{"name":"f"}');
    expect(out[1]).toEqual({
      role: "assistant",
      content: 'Let me see.\n<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>',
    });
  });

  describe("encodeChat()", () => {
    const tok = testTokenizer("llama3");
    const llama3 = chooseChatTemplate({
      arch: "llama",
      tokenizerModel: "gpt2",
      hasToken: (t) => tok.vocab.tokenToId.has(t),
    });
    // a tool-aware template over the Llama-3 vocabulary: tools and calls are template text
    const aware = {
      source: "file" as const,
      template:
        "{{ bos_token }}{% if tools %}{{ '<|start_header_id|>system<|end_header_id|>\\n\\n' }}" +
        "{% for t in tools %}{{ t | tojson }}{% endfor %}{{ '<|eot_id|>' }}{% endif %}" +
        "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' }}" +
        "{{ m['content'] }}{% if m.tool_calls %}{% for c in m.tool_calls %}" +
        "{{ c.function.name }}{{ c.function.arguments | tojson }}{% endfor %}{% endif %}" +
        "{{ '<|eot_id|>' }}{% endfor %}",
    };
    const EOT = 128009;

    test("contents keep special-token text as text next to tool calls", () => {
      const chat: ChatMessage[] = [
        { role: "user", content: "<|eot_id|>" },
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: "c", name: "f", arguments: '{"a":1}' }],
        },
        { role: "tool", content: "<|eot_id|>", toolCallId: "c" },
      ];
      for (const template of [llama3, aware]) {
        const r = encodeChat(tok, chat, { template, tools: [{ name: "f" }] });
        // one <|eot_id|> per turn and one for the tools' system turn, none from the contents
        expect(r.ids.filter((id) => id === EOT)).toHaveLength(chat.length + 1);
        expect(r.prompt).toContain(template === aware ? 'f{"a": 1}' : '"arguments": {"a":1}');
      }
    });

    test("a tool-aware template refuses special-token text in tools or arguments", () => {
      const bad: [ChatMessage[], ChatTool[]][] = [
        [[{ role: "user", content: "x" }], [{ name: "f", description: "<|eot_id|>" }]],
        [[{
          role: "assistant",
          content: "",
          toolCalls: [{ id: "c", name: "f", arguments: '{"a":"<|eot_id|>"}' }],
        }], []],
      ];
      for (const [chat, tools] of bad) {
        expect(() => encodeChat(tok, chat, { template: aware, tools })).toThrow(ChatTemplateError);
        // the built-in format writes them as contents: allowed, and stays text
        const r = encodeChat(tok, chat, { template: llama3, tools });
        expect(r.ids.filter((id) => id === EOT)).toHaveLength(
          chat.length + (tools.length > 0 ? 1 : 0),
        );
      }
    });
  });
});
