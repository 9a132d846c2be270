import { describe, expect, it } from "vitest";
import { md5Concat, pyFloat, pyFloatRepr, pyJson, pyStr } from "../../src/util/pyjson.js";

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
