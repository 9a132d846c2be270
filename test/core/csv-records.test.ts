import { describe, expect, it } from "vitest";
import { parse as parseCsv } from "csv-parse/sync";
import { csvRecords, forEachCsvRecord, type CsvRecord } from "../../src/util/csv-records.js";

/** The records of a text fed in chunks of `size` bytes (0: as one string), and the errors reported. */
async function read(text: string, size = 0): Promise<{ records: CsvRecord[]; errors: [number, string][] }> {
  const bytes = Buffer.from(text, "utf8");
  const input: (Buffer | string)[] = [];
  if (size === 0) input.push(text);
  else for (let i = 0; i < bytes.length; i += size) input.push(bytes.subarray(i, i + size));
  const records: CsvRecord[] = [];
  const errors: [number, string][] = [];
  for await (const batch of csvRecords(input, (line, message) => void errors.push([line, message]))) records.push(...batch);
  return { records, errors };
}

describe("csvRecords", () => {
  it("splits lines on commas and numbers them from 1", async () => {
    const { records, errors } = await read("a,b,c\nd,,f\n");
    expect(records).toEqual([
      { line: 1, fields: ["a", "b", "c"] },
      { line: 2, fields: ["d", "", "f"] },
    ]);
    expect(errors).toEqual([]);
  });

  it("reads LF, CRLF and lone CR line ends; skips blank lines but counts them", async () => {
    const { records } = await read("a,1\r\n\r\nb,2\n\nc,3\rd,4");
    expect(records).toEqual([
      { line: 1, fields: ["a", "1"] },
      { line: 3, fields: ["b", "2"] },
      { line: 5, fields: ["c", "3"] },
      { line: 6, fields: ["d", "4"] },
    ]);
  });

  it("reads quoted values as CSV does: commas, doubled quotes and line ends inside quotes", async () => {
    const { records } = await read('x,"a,b","say ""hi""",y\n"multi\nline",z\nafter,1\n');
    expect(records).toEqual([
      { line: 1, fields: ["x", "a,b", 'say "hi"', "y"] },
      { line: 2, fields: ["multi\nline", "z"] },
      { line: 4, fields: ["after", "1"] },
    ]);
  });

  it("gives what csv-parse gives for the whole text", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) {
      const v = i % 7 === 0 ? `"q,${i}"` : i % 11 === 0 ? `"two\nlines ""${i}"""` : `v${i}`;
      lines.push(`${i},${v},caf\u00e9 ${i % 3},${i % 5 === 0 ? "" : "end"}`);
    }
    const text = lines.join("\r\n") + "\r\n";
    const expected = parseCsv(text, { relax_column_count: true }) as string[][];
    expect((await read(text)).records.map((r) => r.fields)).toEqual(expected);
  });

  it("gives the same records whatever the chunking (CRLF, quotes and UTF-8 characters split across chunks)", async () => {
    const text = 'a,caf\u00e9,\u{1F600}\r\n"q\r\n2",b\r\n\r\nlast,line';
    const whole = await read(text);
    for (const size of [1, 2, 3, 5, 8, 64]) expect(await read(text, size), `chunks of ${size}`).toEqual(whole);
    expect(whole.records.map((r) => r.fields)).toEqual([["a", "caf\u00e9", "\u{1F600}"], ["q\r\n2", "b"], ["last", "line"]]);
  });

  it("reports a quoted value still open at the end and drops that record only", async () => {
    const { records, errors } = await read('a,b\nc,"open\nd,e\n');
    expect(records).toEqual([{ line: 1, fields: ["a", "b"] }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]![0]).toBe(2);
    expect(errors[0]![1]).toMatch(/not closed before the end/);
  });

  it("an empty text has no records", async () => {
    expect(await read("")).toEqual({ records: [], errors: [] });
    expect(await read("\n\r\n")).toEqual({ records: [], errors: [] });
  });

  it("keeps a line end inside a quoted value as the file has it (LF, CRLF, lone CR), as csv-parse does", async () => {
    const text = '"a\r\nb",1\r\n"c\nd",2\n"e\rf",3\n';
    const { records } = await read(text);
    expect(records).toEqual([
      { line: 1, fields: ["a\r\nb", "1"] },
      { line: 3, fields: ["c\nd", "2"] },
      { line: 5, fields: ["e\rf", "3"] },
    ]);
    const lf: CsvRecord[] = [];
    for await (const batch of csvRecords([text], () => {}, { quotedLineEnds: "lf" })) lf.push(...batch);
    expect(lf.map((r) => r.fields[0])).toEqual(["a\nb", "c\nd", "e\nf"]);
  });

  it("skips a UTF-8 BOM before the first line only", async () => {
    const { records } = await read("\ufeffa,b\n\ufeffc,d\n");
    expect(records).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["\ufeffc", "d"] },
    ]);
    for (const size of [1, 2, 4]) expect((await read("\ufeffa,b\n", size)).records, `chunks of ${size}`).toEqual([{ line: 1, fields: ["a", "b"] }]);
  });
});

describe("forEachCsvRecord", () => {
  it("calls back the records csvRecords yields, for a string or its bytes, errors included", async () => {
    const text = '\ufeffh1,h2\r\n\r\n1,"x,y"\r\n2,"open\r\n';
    const streamed = await read(text, 3);
    for (const input of [text, Buffer.from(text, "utf8")]) {
      const records: CsvRecord[] = [];
      const errors: [number, string][] = [];
      forEachCsvRecord(input, (fields, line) => void records.push({ line, fields }), (line, message) => void errors.push([line, message]));
      expect({ records, errors }).toEqual(streamed);
    }
    expect(streamed.records).toEqual([
      { line: 1, fields: ["h1", "h2"] },
      { line: 3, fields: ["1", "x,y"] },
    ]);
    expect(streamed.errors.map((e) => e[0])).toEqual([4]);
  });
});
