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

  it("keeps the order of text pieces and copied bytes, short and long, ASCII or not, across growth", () => {
    const sink = new Utf8Sink(16);
    const src = Buffer.from("0123456789é-field-" + "y".repeat(100), "utf8");
    let expected = "";
    const text = (s: string) => {
      sink.write(s);
      expected += s;
    };
    const bytes = (s: number, e: number) => {
      sink.bytes(src, s, e);
      expected += src.toString("utf8", s, e);
    };
    text("a");
    bytes(0, 3);
    text("ü tail"); // non-ASCII: pending, flushed before the next bytes
    bytes(3, 12); // "3456789é"
    text("\uD83D"); // a surrogate pair split over two pieces stays one character
    text("\uDE00");
    bytes(12, src.length); // long: native copy
    text("z".repeat(70)); // longer than a direct piece
    bytes(0, 0);
    text("end");
    expect(sink.toBuffer().equals(Buffer.from(expected, "utf8"))).toBe(true);
    expect(sink.toString()).toBe(expected);
  });
});
