import { describe, expect, test } from "bun:test";
import { chatPage, DEFAULT_CHAT_TOKENS } from "./chat.ts";

describe("chat view", () => {
  test("labelled form with the models, escaped, and the answer regions", async () => {
    const out = String(await chatPage(["aria-nano", "<script>x</script>"], true));
    expect(out).toContain('<label for="chat-message">Message</label>');
    expect(out).toContain('<option value="aria-nano">aria-nano</option>');
    expect(out).toContain(
      '<option value="&lt;script&gt;x&lt;/script&gt;">&lt;script&gt;x&lt;/script&gt;</option>',
    );
    expect(out).not.toContain("<script>");
    expect(out).toContain(`value="${DEFAULT_CHAT_TOKENS}"`);
    expect(out).toContain('id="chat-answer"');
    expect(out).toContain('<label for="chat-format">Answer as</label>');
    expect(out).toContain('<option value="schema">');
    expect(out).toContain('<textarea id="chat-schema" name="schema"');
    expect(out).toContain('id="chat-receipt-box" hidden');
    expect(out).not.toContain("still loading");
  });

  test("says when the model is loading", async () => {
    expect(String(await chatPage([], false))).toContain("The model is still loading.");
  });
});
