import { describe, expect, test } from "bun:test";
import {
  DownloadError,
  planTransfer,
  progressLine,
  requestHeaders,
  resolveUrl,
  sameDigest,
} from "./hub.ts";

describe("resolveUrl", () => {
  test("builds the hub's resolve URL; a trailing slash and odd characters are handled", () => {
    expect(
      resolveUrl("https://huggingface.co/", "microsoft/x-gguf", "main", "ggml-model-i2_s.gguf"),
    )
      .toBe("https://huggingface.co/microsoft/x-gguf/resolve/main/ggml-model-i2_s.gguf");
    expect(resolveUrl("http://127.0.0.1:8080", "a/b", "refs/pr/1", "dir/my file.gguf"))
      .toBe("http://127.0.0.1:8080/a/b/resolve/refs%2Fpr%2F1/dir/my%20file.gguf");
  });
  test("rejects an endpoint that is not http(s)", () => {
    expect(() => resolveUrl("huggingface.co", "a/b", "main", "f")).toThrow(/HF_ENDPOINT/);
  });
});

describe("requestHeaders", () => {
  test("Range only when resuming; the token only when given", () => {
    expect(requestHeaders(0)).toEqual({ "user-agent": "aria-model-pull" });
    expect(requestHeaders(10, "t")).toMatchObject({
      range: "bytes=10-",
      authorization: "Bearer t",
    });
    expect(requestHeaders(5, "")).not.toHaveProperty("authorization");
  });
});

describe("planTransfer", () => {
  test("200 starts over (even when a Range was asked) with the length as total", () => {
    expect(planTransfer(200, { "content-length": "100" }, 40)).toEqual({ keep: 0, total: 100 });
    expect(planTransfer(200, {}, 0)).toEqual({ keep: 0 });
  });
  test("206 keeps the partial file when the range starts where it ends", () => {
    expect(planTransfer(206, { "content-range": "bytes 40-99/100" }, 40)).toEqual({
      keep: 40,
      total: 100,
    });
    expect(() => planTransfer(206, { "content-range": "bytes 0-99/100" }, 40)).toThrow(
      /Cannot resume/,
    );
  });
  test("416 keeps the file for verification; error statuses say what to do", () => {
    expect(planTransfer(416, {}, 100)).toEqual({ keep: 100 });
    const codes = [401, 403, 404, 500].map((s) => {
      try {
        planTransfer(s, {}, 0);
      } catch (err) {
        return (err as DownloadError).code;
      }
    });
    expect(codes).toEqual(["HUB_AUTH", "HUB_AUTH", "HUB_NOT_FOUND", "HUB_HTTP"]);
  });
});

describe("progressLine and sameDigest", () => {
  test("bar, percent, bytes and speed", () => {
    expect(progressLine(5e6, 10e6, 2e6, 10)).toBe(
      "[#####-----]  50%  5.0 MB / 10.0 MB  2.0 MB/s",
    );
    expect(progressLine(10e6, 10e6, 1e6, 4)).toBe("[####] 100%  10.0 MB / 10.0 MB  1.0 MB/s");
    expect(progressLine(3e6, undefined, 1e6)).toBe("3.0 MB  1.0 MB/s");
  });
  test("digests compare case-insensitively", () => {
    expect(sameDigest("abc", "ABC")).toBe(true);
    expect(sameDigest("abc", "abd")).toBe(false);
  });
});
