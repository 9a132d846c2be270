/** src/util/line-guard.ts: unreadable lines (invalid UTF-8, longer than the limit) reported and blanked. */
import { describe, expect, it } from "vitest";
import { guardBuffer, guardStream, type LineProblem } from "../../src/util/line-guard.js";

const text = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));
const BAD = Buffer.from([0x61, 0xff, 0xfe, 0x62]); // "a", two bytes no UTF-8 text has, "b"

async function streamed(chunks: Buffer[], max: number) {
  const problems: LineProblem[] = [];
  const out: Buffer[] = [];
  for await (const b of guardStream(chunks, { maxLineBytes: max, onProblem: (p) => problems.push(p) })) out.push(b);
  return { out: Buffer.concat(out).toString("utf8"), problems };
}

describe("guardBuffer", () => {
  it("returns a clean buffer itself (valid UTF-8, every line within the limit)", () => {
    const b = text("a,b\r\nä,ö\n", "x".repeat(10), "\n");
    expect(guardBuffer(b, { maxLineBytes: 10, onProblem: () => expect.fail() })).toBe(b);
  });

  it("blanks an invalid UTF-8 line and a long line, keeping line ends and numbers; reports line, kind, bytes", () => {
    const problems: LineProblem[] = [];
    const out = guardBuffer(text("h\r\n", BAD, "\r\nok\r\n", "y".repeat(20), "\r\nlast"), { maxLineBytes: 10, onProblem: (p) => problems.push(p) });
    expect(out.toString("utf8")).toBe("h\r\n\r\nok\r\n\r\nlast");
    expect(problems.map((p) => [p.line, p.kind, p.bytes])).toEqual([
      [2, "invalid UTF-8", 4],
      [4, "line too long", 20],
    ]);
    expect(problems[0]!.preview).toBe("a\\xff\\xfeb");
  });
});

describe("guardStream", () => {
  it("gives the same text as the whole buffer, whatever the chunking (a character split across chunks stays whole)", async () => {
    const whole = text("é1,2\n", BAD, "\n", "z".repeat(30), "\nend ü\n");
    for (const size of [1, 2, 3, 7, 64]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < whole.length; i += size) chunks.push(whole.subarray(i, i + size));
      const { out, problems } = await streamed(chunks, 10);
      expect(out).toBe("é1,2\n\n\nend ü\n");
      expect(problems.map((p) => [p.line, p.kind])).toEqual([
        [2, "invalid UTF-8"],
        [3, "line too long"],
      ]);
    }
  });

  it("never holds a long line: a 50 MB line streamed in 64 KiB chunks is dropped as it goes", async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    async function* input() {
      yield Buffer.from("first\n");
      for (let i = 0; i < 800; i++) yield chunk;
      yield Buffer.from("\nafter\n");
    }
    const problems: LineProblem[] = [];
    let out = "";
    const before = process.memoryUsage().rss;
    for await (const b of guardStream(input(), { maxLineBytes: 1024 * 1024, onProblem: (p) => problems.push(p) })) out += b.toString("utf8");
    expect(out).toBe("first\n\nafter\n");
    expect(problems).toEqual([{ line: 2, kind: "line too long", bytes: 800 * 64 * 1024, preview: `${"A".repeat(80)}…` }]);
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
  });
});
