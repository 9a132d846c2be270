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

  it("keeps every digit of an integer beyond 2^53, as Python's int does (a bigint); safe integers stay numbers", () => {
    const text = '{"max": 9223372036854775807, "min": -9223372036854775808, "safe": 9007199254740991, "f": 9223372036854775807.0}';
    const v = parsePyJson(text) as Record<string, unknown>;
    expect(v.max).toBe(9223372036854775807n);
    expect(v.min).toBe(-9223372036854775808n);
    expect(v.safe).toBe(9007199254740991);
    expect(pyJson(v)).toBe('{"max": 9223372036854775807, "min": -9223372036854775808, "safe": 9007199254740991, "f": 9.223372036854776e+18}');
    expect(numericValue(v.max)).toBe(2 ** 63);
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

import { pyStrEpochMs } from "../../src/util/dates.js";
import { forEachArrayItem, memberText, objectMembers, parseSplit, skipValue } from "../../src/util/pyjson-parse.js";

describe("timestamp_adj parsing", () => {
  it("reads Python str(datetime) forms to epoch ms (microseconds truncated)", () => {
    expect(pyStrEpochMs("2019-05-31 22:02:11.600000-05:00")).toBe(Date.parse("2019-06-01T03:02:11.600Z"));
    expect(pyStrEpochMs("2024-11-03 01:30:00-06:00")).toBe(Date.parse("2024-11-03T07:30:00Z"));
    expect(pyStrEpochMs("2024-11-03 01:30:00-05:00")).toBe(Date.parse("2024-11-03T06:30:00Z"));
    expect(pyStrEpochMs("2024-11-03 01:30:00.000999+00:00")).toBe(Date.parse("2024-11-03T01:30:00Z"));
    expect(pyStrEpochMs("2024-11-03T01:30:00Z")).toBe(Date.parse("2024-11-03T01:30:00Z"));
    expect(pyStrEpochMs("2024-11-03 01:30:00.5-05:00")).toBe(Date.parse("2024-11-03T06:30:00.500Z"));
    for (const bad of ["2024-13-03 01:30:00-05:00", "2024-11-03 1:30:00-05:00", "yesterday", "", null, 5]) expect(pyStrEpochMs(bad)).toBeUndefined();
  });
});

describe("JSON scanning", () => {
  const text = '{"header": {"a": "x}\\"]"}, "data": [{"t": "1", "n": 13.0}, {"t": "b\\\\", "n": -2}, []], "z": NaN}';
  it("finds members, array items and member values without building objects", () => {
    const m = objectMembers(text);
    expect([...m.keys()]).toEqual(["header", "data", "z"]);
    const [s, e] = m.get("data")!;
    const items: string[] = [];
    forEachArrayItem(text, s, e, (a, b) => items.push(text.slice(a, b)));
    expect(items).toEqual(['{"t": "1", "n": 13.0}', '{"t": "b\\\\", "n": -2}', "[]"]);
    expect(memberText(items[0]!, 0, "n")).toBe("13.0");
    expect(memberText(items[1]!, 0, "t")).toBe('"b\\\\"');
    expect(memberText(items[1]!, 0, "missing")).toBeUndefined();
    expect(skipValue(text, m.get("header")![0])).toBe(m.get("header")![1]);
  });
  it("parseSplit parses big members with JSON.parse and keeps floats elsewhere", () => {
    const v = parseSplit(text, ["data"]) as { header: unknown; data: { n: unknown }[]; z: unknown };
    expect(v.data[0]!.n).toBe(13);
    expect(Number.isNaN((v.z as { value: number }).value)).toBe(true);
  });
});

describe("scanner errors", () => {
  it("name the file, character and line", () => {
    expect(() => objectMembers('{"a": 1,\n "b" 2}', 0, "zone.json")).toThrow(/zone\.json: ':' expected at character 14 \(line 2\)/);
    expect(() => forEachArrayItem('[1, 2', 0, 5, () => undefined, "x.json")).toThrow(/x\.json/);
  });
});

import { forEachItemWithMember } from "../../src/util/pyjson-parse.js";

describe("forEachItemWithMember", () => {
  it("gives the same items and member texts on its fast path and its full walk", () => {
    const items = [
      '{"a": 1, "t": "2024-06-01 00:00:00-05:00"}', // fast path: last, plain string
      '{"t": "x", "a": 2.0}', // not last
      '{"a": "}", "t": "y"}', // "}" inside an earlier string
      '{"n": {"t": "inner"}, "t": "outer"}', // nested object holding the key
      '{"a": 3}', // no member
      '{"t": "q\\"}"}', // escaped quote and brace in the value
      '{"t" : "spaced" }', // other spacing
      "[]",
      '{"x\\"t": "k", "t": "last"}',
    ];
    const text = `[${items.join(", ")}]`;
    const got: [string, string | undefined][] = [];
    forEachItemWithMember(text, 0, text.length, "t", (s, e, v) => got.push([text.slice(s, e), v]));
    expect(got.map((g) => g[0])).toEqual(items);
    expect(got.map((g) => g[1])).toEqual(['"2024-06-01 00:00:00-05:00"', '"x"', '"y"', '"outer"', undefined, '"q\\"}"', '"spaced"', undefined, '"last"']);
  });
});

describe("parseSplit", () => {
  it("finds the end of a record list by its first ']' when it can, else walks it", () => {
    const plain = '{"h": {"v": 1.0}, "rows": [{"a": 1}, {"a": 2.5}], "site": {"x": 3.0}}';
    const tricky = '{"h": 1, "rows": [{"a": "]"}, {"b": [1, 2]}], "site": {"x": 3.0}}';
    const nan = '{"rows": [{"a": NaN}], "site": 2.0}';
    const p = parseSplit(plain, ["rows"]) as any;
    expect(p.rows).toEqual([{ a: 1 }, { a: 2.5 }]);
    expect(p.site.x).toBeInstanceOf(PyFloat);
    const t = parseSplit(tricky, ["rows"]) as any;
    expect(t.rows).toEqual([{ a: "]" }, { b: [1, 2] }]);
    expect(t.site.x.value).toBe(3);
    const n = parseSplit(nan, ["rows"]) as any;
    expect(Number.isNaN(n.rows[0].a.value)).toBe(true);
    expect(() => parseSplit('{"rows": [1, 2', ["rows"], "f.json")).toThrow(/f\.json/);
  });
});
