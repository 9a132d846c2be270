import { describe, expect, it } from "vitest";
import { md5Concat, pyFloat, pyFloatRepr, pyJson, pyStr, writeJsonFloatText, writeJsonStringBytes } from "../../src/util/pyjson.js";
import { Utf8Sink } from "../../src/util/utf8-sink.js";

/** What writeJsonFloatText writes for the text, alone and as a field inside a larger buffer. */
function floatTextJson(text: string): string {
  const alone = new Utf8Sink(16);
  writeJsonFloatText(alone, Buffer.from(text, "latin1"), 0, text.length);
  const inside = new Utf8Sink(16);
  writeJsonFloatText(inside, Buffer.from(`7,${text},9`, "latin1"), 2, 2 + text.length);
  expect(inside.toString(), `${text} inside a row`).toBe(alone.toString());
  return alone.toString();
}

describe("Python serialisation", () => {
  it("prints floats as Python repr does", () => {
    expect(pyFloatRepr(13)).toBe("13.0");
    expect(pyFloatRepr(30.2636414)).toBe("30.2636414");
    expect(pyFloatRepr(-97.7)).toBe("-97.7");
    expect(pyFloatRepr(1e-5)).toBe("1e-05");
    expect(pyFloatRepr(1.5e16)).toBe("1.5e+16");
    expect(pyFloatRepr(0.0001)).toBe("0.0001");
    expect(pyFloatRepr(NaN)).toBe("nan");
  });

  it("repr edge cases (expected values from Python 3)", () => {
    const cases: [number, string][] = [
      [1e16, "1e+16"], [0.1 + 0.2, "0.30000000000000004"], [-0, "-0.0"], [0, "0.0"], [1e-5, "1e-05"], [13, "13.0"],
      [1e15, "1000000000000000.0"], [2 ** 53, "9007199254740992.0"], [1.5e-7, "1.5e-07"], [1e22, "1e+22"], [5e-324, "5e-324"],
      [123456789.125, "123456789.125"], [Infinity, "inf"], [-Infinity, "-inf"],
    ];
    for (const [n, repr] of cases) expect([n, pyFloatRepr(n)]).toEqual([n, repr]);
    // json.dumps: integers as floats keep ".0"; NaN and the infinities are written null (B31).
    expect(pyJson([pyFloat(2), pyFloat(-0), 2, pyFloat(NaN), NaN, pyFloat(Infinity), -Infinity])).toBe("[2.0, -0.0, 2, null, null, null, null]");
  });

  it("str() of values as concatenated into record ids", () => {
    expect([null, true, false, 5, 2.5, pyFloat(3), "x"].map(pyStr)).toEqual(["None", "True", "False", "5", "2.5", "3.0", "x"]);
    // Python: hashlib.md5(("LAMARMANCHACA" + "2020-09-13T00:00:00" + str(2)).encode()).hexdigest()
    expect(md5Concat("LAMARMANCHACA", "2020-09-13T00:00:00", 2)).toBe("7adb356632fed326609da12cd67b462a");
    expect(md5Concat("a", 1, null)).toBe(md5Concat("a1None"));
  });

  it("json.dumps defaults: separators, ASCII escapes, order, NaN → null (fixes B31)", () => {
    expect(pyJson({ b: 1, a: [1.5, pyFloat(2), "é", null], c: { d: true } })).toBe('{"b": 1, "a": [1.5, 2.0, "\\u00e9", null], "c": {"d": true}}');
    expect(pyJson({ x: NaN })).toBe('{"x": null}');
    expect(pyJson("😀")).toBe('"\\ud83d\\ude00"');
  });
});

describe("json.dumps of values in file bytes", () => {
  it("float text: json.dumps(float(text)) (expected values from Python 3)", () => {
    const cases: [string, string][] = [
      ["1e16", "1e+16"], ["1e+16", "1e+16"], ["1.5e16", "1.5e+16"], ["9999999999999998", "9999999999999998.0"], ["10000000000000000", "1e+16"],
      ["0.30000000000000004", "0.30000000000000004"], ["-0.0", "-0.0"], ["-0", "-0.0"], ["0", "0.0"], ["00", "0.0"], ["0.0000", "0.0"],
      ["1e-05", "1e-05"], ["0.00001", "1e-05"], ["0.0001", "0.0001"], ["0.000123", "0.000123"], ["0.00012345678901234", "0.00012345678901234"],
      ["2", "2.0"], ["2.", "2.0"], ["13", "13.0"], ["13.0", "13.0"], ["1.50", "1.5"], ["-126.08", "-126.08"], ["126.080", "126.08"],
      ["007.5", "7.5"], [".5", "0.5"], ["-.5", "-0.5"], ["+3", "3.0"], ["1e3", "1000.0"], ["123456789012345", "123456789012345.0"],
      ["123456789012345.6", "123456789012345.6"], ["1234567890123456.7", "1234567890123456.8"], ["999999999999999.9", "999999999999999.9"],
      ["12345678901234567", "1.2345678901234568e+16"], ["0.1000000000000000055511151231257827", "0.1"], ["5e-324", "5e-324"],
      ["1e308", "1e+308"], ["1E5", "100000.0"],
      // Not finite: null, as pyJson writes NaN and the infinities (B31).
      ["1e400", "null"], ["-1e400", "null"],
    ];
    for (const [text, expected] of cases) expect([text, floatTextJson(text)]).toEqual([text, expected]);
  });

  it("float text: the same as pyFloatRepr(Number(text)) on random decimal texts, copied or not", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const digits = (n: number) => Array.from({ length: n }, () => String(rand(10))).join("");
    for (let k = 0; k < 20_000; k++) {
      const int = rand(4) === 0 ? "0" : digits(1 + rand(17));
      const frac = rand(3) === 0 ? "" : `.${"0".repeat(rand(3) === 0 ? rand(6) : 0)}${digits(rand(18))}`;
      const text = `${rand(4) === 0 ? "-" : ""}${int}${frac}`;
      const v = Number(text);
      expect([text, floatTextJson(text)]).toEqual([text, pyFloatRepr(v)]);
    }
  });

  it("string bytes: copied between quotes when plain, escaped like pyJson otherwise", () => {
    for (const text of ["S", "", "SLR", 'say "hi"', "back\\slash", "tab\there", "é", "😀 ok", "\u007f"]) {
      const bytes = Buffer.from(`x,${text},y`, "utf8");
      const sink = new Utf8Sink(8);
      writeJsonStringBytes(sink, bytes, 2, bytes.length - 2);
      expect(sink.toString()).toBe(pyJson(text));
    }
  });
});
