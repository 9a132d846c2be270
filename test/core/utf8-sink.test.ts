import { describe, expect, it } from "vitest";
import { Utf8Sink } from "../../src/util/utf8-sink.js";

describe("Utf8Sink", () => {
  it("gathers pieces into the UTF-8 bytes of their concatenation, growing past its first size", () => {
    const sink = new Utf8Sink(16);
    const pieces = ["abc", "é", "😀", "x".repeat(40_000), "ü\r\n", "", "end"];
    for (const p of pieces) sink.write(p);
    const text = pieces.join("");
    expect(sink.toBuffer().equals(Buffer.from(text, "utf8"))).toBe(true);
    expect(sink.byteLength).toBe(Buffer.byteLength(text));
    expect(sink.toString()).toBe(text);
  });

  it("is empty until written", () => {
    expect(new Utf8Sink().toBuffer().length).toBe(0);
  });
});
