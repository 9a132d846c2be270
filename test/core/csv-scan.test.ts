import { describe, expect, it } from "vitest";
import { parse } from "csv-parse/sync";
import { fieldNumber, fieldText, fieldValue, isMissingField, pandasTypes, scanCsv, writeFieldJson, type CsvFields, type JsonColumnType } from "../../src/util/csv-scan.js";
import { pyFloat, pyJson } from "../../src/util/pyjson.js";
import { Utf8Sink } from "../../src/util/utf8-sink.js";

const scan = (text: string, width: number) => scanCsv(Buffer.from(text, "utf8"), width, { where: "f.csv" });
/** The fields as text (null for an absent field), row by row. */
const table = (t: CsvFields) => Array.from({ length: t.rows }, (_, r) => Array.from({ length: t.width }, (_, c) => fieldText(t, r * t.width + c) ?? null));
const json = (t: CsvFields, i: number, type: JsonColumnType) => {
  const sink = new Utf8Sink(8);
  writeFieldJson(sink, t, i, type);
  return sink.toString();
};

describe("scanCsv", () => {
  it("finds the fields of a headerless CSV: BOM, blank lines, \\n or \\r\\n, short rows", () => {
    const t = scan("\uFEFF1,a,2.5\r\n\r\n3,b\n\n4,,x", 3);
    expect(t.rows).toBe(3);
    expect(table(t)).toEqual([["1", "a", "2.5"], ["3", "b", null], ["4", "", "x"]]);
    expect(scan("", 2).rows).toBe(0);
  });

  it("reads a quoted CSV with csv-parse, the same fields as csv-parse gives", () => {
    const text = '1,"a, b",2\r\n"3","say ""hi""",\r\n"é",x,"line\nbreak"\r\n';
    const t = scan(text, 3);
    expect(table(t)).toEqual(parse(text, { relax_column_count: true }));
    expect(table(scan('1,"2",3\r\n', 3))).toEqual(table(scan("1,2,3\r\n", 3)));
  });

  it("gives each row the file's line it starts on: blank lines counted, CRLF one line end, a quoted line break inside the row", () => {
    const plain = scan("\uFEFF1,a\r\n\r\n2,b\r\n\n\n3,c\r\n", 2);
    expect(Array.from(plain.line)).toEqual([1, 3, 6]);
    const quoted = scan('1,"a\r\nb"\r\n\r\n2,b\r\n3,c', 2);
    expect(table(quoted)).toEqual([["1", "a\r\nb"], ["2", "b"], ["3", "c"]]);
    expect(Array.from(quoted.line)).toEqual([1, 4, 5]);
  });

  it("a lone CR ends a line, as in the record reader (csv-records)", () => {
    const t = scan("1,a\r2,b\r\n3,c\n", 2);
    expect(table(t)).toEqual([["1", "a"], ["2", "b"], ["3", "c"]]);
    expect(Array.from(t.line)).toEqual([1, 2, 3]);
  });

  it("a row with too many fields is an error naming its line (plain and quoted), worded by the caller if it likes", () => {
    expect(() => scan("1,2\r\n1,2,3\r\n", 2)).toThrow(/f.csv: line 2 has 3 fields, 2 expected/);
    expect(() => scan('1,"2"\r\n1,2,3\r\n', 2)).toThrow(/f.csv: line 2 has 3 fields, 2 expected/);
    const tooManyFields = (line: number, n: number, first: string) => new Error(`line ${line}: ${n} fields, version ${first}`);
    expect(() => scanCsv(Buffer.from("7,1\n8,1,2,3\n"), 2, { where: "f", tooManyFields })).toThrow("line 2: 4 fields, version 8");
    expect(() => scan('1,"unterminated\n', 2)).toThrow(/f.csv: unreadable CSV at line 1/);
    expect(() => scan("1,2\r\n\r\n1,2,3\r\n", 2)).toThrow(/f.csv: line 3 has 3 fields/);
  });
});

describe("pandas column types and values", () => {
  it("a column with a decimal is float, with text is text, an int column with a missing value is float", () => {
    const t = scan("1,1,1,1,1,x\n2,2.5,,NaN,1e3,1\n-3,3,4,5,+6,2\n", 6);
    expect(pandasTypes(t)).toEqual(["int", "float", "float", "float", "float", "text"]);
    expect(pandasTypes(scan("1,-2,+3,007\n", 4))).toEqual(["int", "int", "int", "int"]);
    expect(pandasTypes(scan("1,inf,-,.\n", 4))).toEqual(["int", "text", "text", "text"]);
  });

  it("missing-value words, numbers read from the bytes as Number() reads the text", () => {
    const words = ["", "NaN", "nan", "NA", "N/A", "NULL", "null", "n/a", "#N/A", "<NA>", "-NaN", "-nan", "None"];
    const t = scan(words.join(",") + "\n", words.length);
    for (let i = 0; i < words.length; i++) expect([words[i], isMissingField(t, i)]).toEqual([words[i], true]);
    const others = ["N", "Na", "NONE", "-N", "-360", "S", "#", "<", "0", "nanx"];
    const o = scan(others.join(",") + "\n", others.length);
    for (let i = 0; i < others.length; i++) expect([others[i], isMissingField(o, i)]).toEqual([others[i], false]);
    const numbers = ["0", "-0", "-0.0", "129.84", "-360", "0.1", "123456789012345", "1234567890123456", "1.2345678901234567", "+5", "1e3", "007", ".5", "5.", "1e999", "NaN", ""];
    const n = scan(numbers.join(",") + "\n", numbers.length);
    for (let i = 0; i < numbers.length; i++) {
      const expected = i >= numbers.length - 2 ? Number.NaN : Number(numbers[i]);
      expect([numbers[i], fieldNumber(n, i)]).toEqual([numbers[i], expected]);
    }
    expect(Object.is(fieldNumber(n, 1), -0)).toBe(true);
    expect([fieldValue(n, 3, "float"), fieldValue(n, 15, "float"), fieldValue(n, 3, "text"), fieldValue(n, 16, "text")]).toEqual([129.84, null, "129.84", null]);
  });

  it("json.dumps of a field as pandas reads it, the same as pyJson of the value", () => {
    const t = scan('8,007,-0,+4,4.7,2.50,1e-5,NaN,S,"say ""x""",é,,x\n', 13);
    const cases: [number, JsonColumnType, unknown][] = [
      [0, "int", 8], [1, "int", 7], [2, "int", 0], [3, "int", 4], [4, "int-cast", 4], [1, "int-cast", 7], [8, "int-cast", Number.NaN],
      [5, "float", pyFloat(2.5)], [0, "float", pyFloat(8)], [6, "float", pyFloat(1e-5)], [2, "float", pyFloat(-0)],
      [7, "float", null], [7, "text", null], [11, "int", null], [8, "text", "S"], [9, "text", 'say "x"'], [10, "text", "é"],
    ];
    for (const [i, type, value] of cases) expect([i, type, json(t, i, type)]).toEqual([i, type, pyJson(value)]);
    expect(json(scan("x\n", 2), 1, "text")).toBe("null");
  });
});
