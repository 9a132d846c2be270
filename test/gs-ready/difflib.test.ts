import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SequenceMatcher, similarityRatio } from "../../src/sources/gs/difflib.js";
import { pyFloatRepr } from "../../src/util/pyjson.js";

interface Pair {
  a: string;
  b: string;
  ratio: number;
  ratio_repr: string;
}
// Generated once by test/fixtures/gs-ready/difflib-ratios.py with Python 3.11's difflib.
const table = JSON.parse(readFileSync(new URL("../fixtures/gs-ready/difflib-ratios.json", import.meta.url), "utf8")) as Pair[];

describe("difflib SequenceMatcher ratio (Python parity)", () => {
  it("has a table of at least 25 pairs, with identical, empty and long pairs", () => {
    expect(table.length).toBeGreaterThanOrEqual(25);
    expect(table.some((p) => p.a === p.b && p.a !== "")).toBe(true);
    expect(table.some((p) => p.a === "" && p.b === "")).toBe(true);
    expect(table.some((p) => p.b.length >= 200)).toBe(true);
  });

  it.each(table.map((p, i) => [i, p] as const))("pair %i matches Python exactly", (_i, p) => {
    const r = similarityRatio(p.a, p.b);
    expect(r).toBe(p.ratio);
    expect(pyFloatRepr(r)).toBe(p.ratio_repr);
  });

  it("is not symmetric, like Python (autojunk applies to b only)", () => {
    const long = table.filter((p) => p.b.length >= 200 && p.a.length < 200);
    expect(long.length).toBeGreaterThan(0);
    for (const p of long) expect(similarityRatio(p.b, p.a)).toBe(table.find((q) => q.a === p.b && q.b === p.a)?.ratio ?? similarityRatio(p.b, p.a));
  });

  it("drops popular elements of b (>= 200 long) from the index but still extends matches over them", () => {
    const b = "x".repeat(250);
    // Every "x" is popular: no index hit; the empty match at (0, 0) still extends over equal popular elements.
    // Python: ratio("xxx", "x" * 250) = 0.023715415019762844, ratio("yxxx", "x" * 250) = 0.0.
    expect(similarityRatio("xxx", b)).toBe(0.023715415019762844);
    expect(similarityRatio("yxxx", b)).toBe(0);
    // Below 200 no autojunk: a full match of 3.
    expect(new SequenceMatcher("xxx", "x".repeat(199)).matchCount()).toBe(3);
  });

  it("counts code points, not UTF-16 units", () => {
    expect(similarityRatio("a😀b", "a😀b")).toBe(1);
    expect(new SequenceMatcher("😀", "😀x").matchCount()).toBe(1);
  });
});
