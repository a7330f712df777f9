import { expect, test } from "bun:test";
import { replyStream } from "./_reply-stream.ts";

test("yields pushed values in order, waiting for late ones", async () => {
  const s = replyStream<number>();
  s.push(1);
  const got: number[] = [];
  const reading = (async () => {
    for await (const v of s.replies) {
      got.push(v);
      if (v === 3) s.close();
    }
  })();
  await Promise.resolve();
  s.push(2);
  s.push(3);
  await reading;
  expect(got).toEqual([1, 2, 3]);
});

test("queued values come before the failure", async () => {
  const s = replyStream<string>();
  s.push("a");
  s.fail(new Error("gone"));
  const got: string[] = [];
  await expect((async () => {
    for await (const v of s.replies) got.push(v);
  })()).rejects.toThrow("gone");
  expect(got).toEqual(["a"]);
});

test("close ends a waiting reader", async () => {
  const s = replyStream<number>();
  const next = s.replies.next();
  s.close();
  expect(await next).toEqual({ value: undefined, done: true });
});
