import { describe, expect, it } from "vitest";
import { wallKey, type RowText } from "../../src/sources/gs/assemble.js";

describe("wallKey (counts rows sorted by number, then text)", () => {
  it("reads the wall-clock digits, NaN for any other text", () => {
    expect(wallKey("2024-11-03 01:30:00.250000-05:00")).toBe(20241103013000);
    expect(wallKey("2024-11-03 01:30:00-06:00")).toBe(20241103013000);
    expect(wallKey("2024-11-03T01:30:00-06:00")).toBeNaN();
    expect(wallKey("2024-11-03 01:30")).toBeNaN();
    expect(wallKey("2024-1x-03 01:30:00")).toBeNaN();
  });

  it("number then text orders rows exactly as their texts (fall-back hour, fractions, offsets)", () => {
    const texts = [
      "2024-11-03 01:30:00-06:00",
      "2024-11-03 01:30:00.500000-05:00",
      "2024-11-03 01:30:00-05:00",
      "2024-11-03 01:29:59.999999-06:00",
      "2024-11-03 00:00:00-05:00",
      "2024-11-03 23:59:59-06:00",
      "2024-11-03 01:30:00-05:00",
    ];
    const rows: (RowText & { i: number })[] = texts.map((ts, i) => ({ ts, body: "", zone: "", key: wallKey(ts), i }));
    const byText = [...rows].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0)).map((r) => r.i);
    const byKey = [...rows].sort((a, b) => a.key! - b.key! || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0)).map((r) => r.i);
    expect(byKey).toEqual(byText);
  });
});
