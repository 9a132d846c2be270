import { describe, expect, it } from "vitest";
import { numericValue, parsePyJson } from "../../src/util/pyjson-parse.js";
import { PyFloat, pyJson } from "../../src/util/pyjson.js";

describe("parsePyJson (json.loads keeping Python float-ness)", () => {
  it("round-trips Python json.dumps output byte for byte", () => {
    const text =
      '{"header": {"a": 1, "b": 13.0, "c": -0.5, "d": 1e-05, "e": "x\\"y\\u00e9\\n"}, "data": [{"t": "2019-05-31 22:02:11.600000-05:00", ' +
      '"len": 17.0, "n": null, "ok": true, "no": false}, [], {}], "big": 12345678901}';
    const v = parsePyJson(text);
    expect(pyJson(v)).toBe(text);
    const h = (v as { header: Record<string, unknown> }).header;
    expect(h.a).toBe(1);
    expect(h.b).toBeInstanceOf(PyFloat);
    expect(numericValue(h.b)).toBe(13);
    expect(h.e).toBe('x"yé\n');
  });

  it("accepts NaN and Infinity as Python writes them", () => {
    const v = parsePyJson('[NaN, Infinity, -Infinity, -3]') as unknown[];
    expect(Number.isNaN(numericValue(v[0]))).toBe(true);
    expect(numericValue(v[1])).toBe(Infinity);
    expect(numericValue(v[2])).toBe(-Infinity);
    expect(v[3]).toBe(-3);
  });

  it("reports where the text is broken", () => {
    expect(() => parsePyJson('{"a": [1, 2', "counts.json")).toThrow(/counts\.json: .*character 11/);
    expect(() => parsePyJson('{"a": 1} x')).toThrow(/trailing/);
  });

  it("does not let a __proto__ key change the prototype", () => {
    const v = parsePyJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(["__proto__"]);
  });
});
