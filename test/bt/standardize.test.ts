import { describe, expect, it } from "vitest";
import { newStats, standardizeBluetooth, standardizeToString, type StandardHeader } from "../../src/sources/bt/standardize.js";

const header = (file_type: StandardHeader["file_type"]): StandardHeader => ({
  data_type: "bluetooth",
  file_type,
  origin_filename: `Austin_bt_2019-06-01_${file_type}.txt`,
  target_filename: `Austin_bt_2019-06-01_${file_type}.json`,
  collection_date: "2019-06-01 00:00:00-05:00",
  processing_date: "2019-06-02 04:00:00-05:00",
});
const ZONE = "America/Chicago";

async function rows(text: string, type: StandardHeader["file_type"] = "unmatched") {
  const stats = newStats();
  const json = await standardizeToString(text, type, header(type), ZONE, stats);
  return { doc: JSON.parse(json) as { header: unknown; data: Record<string, string | null>[] }, json, stats };
}

describe("standardizeBluetooth", () => {
  it("writes the header then the rows, values as strings, keys in column order", async () => {
    const { json } = await rows("6/1/2019 12:00:00 AM,10.0.0.1,6/1/2019 12:00:12 AM,lamar_mlk,QUJD\r\n");
    expect(json).toBe(
      '{"header": {"data_type": "bluetooth", "file_type": "unmatched", "origin_filename": "Austin_bt_2019-06-01_unmatched.txt", ' +
        '"target_filename": "Austin_bt_2019-06-01_unmatched.json", "collection_date": "2019-06-01 00:00:00-05:00", ' +
        '"processing_date": "2019-06-02 04:00:00-05:00"}, "data": [{"host_timestamp": "2019-06-01 00:00:00-05:00", ' +
        '"ip_address": "10.0.0.1", "field_timestamp": "2019-06-01 00:00:12-05:00", "reader_id": "lamar_mlk", "dev_addr": "QUJD"}]}',
    );
  });

  it("gives the same text whatever the input chunking (CRLF and quoted values split across chunks)", async () => {
    const text = '6/1/2019 1:00:00 AM,ip,6/1/2019 1:00:00 AM,r1,a\r\n6/1/2019 2:00:00 AM,"i,p",6/1/2019 2:00:00 AM,"r\r\n2",caf\u00e9\r\n\r\n6/1/2019 3:00:00 AM,ip,x,r3,c';
    const whole = await standardizeToString(text, "unmatched", header("unmatched"), ZONE);
    for (const size of [1, 2, 3, 5, 8]) {
      const bytes = Buffer.from(text, "utf8");
      const parts: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
      let out = "";
      for await (const piece of standardizeBluetooth(parts, "unmatched", header("unmatched"), ZONE, newStats())) out += piece.toString();
      expect(out, `chunks of ${size}`).toBe(whole);
    }
    const doc = JSON.parse(whole) as { data: Record<string, string>[] };
    expect(doc.data.map((r) => [r.ip_address, r.reader_id, r.dev_addr])).toEqual([
      ["ip", "r1", "a"],
      ["i,p", "r\n2", "caf\u00e9"],
      ["ip", "r3", "c"],
    ]);
  });

  it("an empty file gives an empty data list", async () => {
    const { doc, stats } = await rows("");
    expect(doc.data).toEqual([]);
    expect(stats.rows).toBe(0);
  });

  it("skips blank lines and reads LF or CRLF", async () => {
    const { doc } = await rows("6/1/2019 1:00:00 AM,ip,6/1/2019 1:00:00 AM,r1,a\n\n6/1/2019 2:00:00 AM,ip,6/1/2019 2:00:00 AM,r2,b\r\n\r\n");
    expect(doc.data.map((r) => r.reader_id)).toEqual(["r1", "r2"]);
  });

  it("a truncated file (last line cut) keeps the good rows and reports the cut one with its line", async () => {
    const { doc, stats } = await rows(
      "6/1/2019 1:00:00 AM,ip,6/1/2019 1:00:00 AM,r1,a\r\n6/1/2019 2:00:00 AM,ip,6/1/2019 2:00:00 AM,r2,b\r\n6/1/2019 3:00:00 AM,ip,6/1/20",
    );
    expect(doc.data.map((r) => r.reader_id)).toEqual(["r1", "r2"]);
    expect(stats.dropped).toBe(1);
    expect(stats.problems).toEqual([{ line: 3, problem: expect.stringContaining("3 values, expected 5") }]);
  });

  it("a line cut inside a quoted value drops only that record", async () => {
    const { doc, stats } = await rows('6/1/2019 1:00:00 AM,ip,6/1/2019 1:00:00 AM,r1,a\r\n6/1/2019 2:00:00 AM,ip,6/1/2019 2:00:00 AM,"r2');
    expect(doc.data.map((r) => r.reader_id)).toEqual(["r1"]);
    expect(stats.dropped).toBe(1);
  });

  it("extra columns are dropped and reported with the line, never a null key (B39)", async () => {
    const { doc, json, stats } = await rows("6/1/2019 1:00:00 AM,ip,6/1/2019 1:00:00 AM,r1,a,EXTRA,MORE\r\n");
    expect(json).not.toContain("null:");
    expect(json).not.toContain('"null"');
    expect(Object.keys(doc.data[0]!)).toEqual(["host_timestamp", "ip_address", "field_timestamp", "reader_id", "dev_addr"]);
    expect(doc.data[0]!.dev_addr).toBe("a");
    expect(stats.extraColumns).toBe(1);
    expect(stats.problems[0]).toEqual({ line: 1, problem: expect.stringContaining("7 values, expected 5") });
  });

  it("unparseable timestamps become null and are counted", async () => {
    const { doc, stats } = await rows("garbage,ip,6/1/2019 1:00:00 AM,r1,a\r\n");
    expect(doc.data[0]!.host_timestamp).toBeNull();
    expect(doc.data[0]!.field_timestamp).toBe("2019-06-01 01:00:00-05:00");
    expect(stats.unparseableTimes).toBe(1);
    expect(stats.problems[0]!.problem).toContain('host_timestamp "garbage"');
  });

  it("perfmet per reader: count and min/max of parsed host times, a null first timestamp is safe (B11)", async () => {
    const { stats } = await rows(
      [
        "bad,ip,x,r1,a",
        "6/1/2019 3:00:00 AM,ip,x,r1,a",
        "6/1/2019 1:00:00 AM,ip,x,r1,a",
        "6/1/2019 2:00:00 AM,ip,x,r1,a",
        "6/1/2019 5:00:00 AM,ip,x,r2,a",
        "6/1/2019 5:00:00 AM,ip,x,,a",
      ].join("\r\n"),
    );
    expect(stats.perReader.get("r1")).toMatchObject({ count: 4, min: "2019-06-01 01:00:00-05:00", max: "2019-06-01 03:00:00-05:00" });
    expect(stats.perReader.get("r2")).toMatchObject({ count: 1, min: "2019-06-01 05:00:00-05:00", max: "2019-06-01 05:00:00-05:00" });
    expect(stats.perReader.has("")).toBe(false);
  });

  it("perfmet min/max compare instants on the fall-back day, not text", async () => {
    const { stats } = await rows(["11/3/2019 12:30:00 AM,ip,x,r1,a", "11/3/2019 1:10:00 AM,ip,x,r1,a", "11/3/2019 12:50:00 AM,ip,x,r1,a"].join("\n"));
    expect(stats.perReader.get("r1")).toMatchObject({ min: "2019-11-03 00:30:00-05:00", max: "2019-11-03 01:10:00-06:00" });
  });

  it("summary timestamps have no seconds; matched keeps its nine columns", async () => {
    const s = await rows("51st_springdale,51st_manor,51st,Springdale,Westbound,51st,Manor,Eastbound,0.633,6/1/2019 12:00 AM,-1,-1,15,0,-1", "traf_match_summary");
    expect(s.doc.data[0]!.timestamp).toBe("2019-06-01 00:00:00-05:00");
    expect(s.doc.data[0]!.seg_length).toBe("0.633");
    const m = await rows("RDM6QzI6NjE6RDA6MDM=,lamar_mlk,lamar_6th,5/31/2019 11:48:20 PM,5/31/2019 11:59:46 PM,686,5,invalid,125", "matched");
    expect(m.doc.data[0]).toEqual({
      dev_addr: "RDM6QzI6NjE6RDA6MDM=",
      origin_reader_id: "lamar_mlk",
      dest_reader_id: "lamar_6th",
      start_time: "2019-05-31 23:48:20-05:00",
      end_time: "2019-05-31 23:59:46-05:00",
      travel_time_secs: "686",
      speed: "5",
      match_validity: "invalid",
      filter_id: "125",
    });
  });

  it("escapes backslashes, control and non-ASCII characters of unquoted lines like json.dumps", async () => {
    const { json } = await rows("6/1/2019 1:00:00 AM,ip\tx,x,r\\1,caf\u00e9\r\n");
    expect(json).toContain('"ip_address": "ip\\tx"');
    expect(json).toContain('"reader_id": "r\\\\1", "dev_addr": "caf\\u00e9"');
  });

  it("escapes like json.dumps (non-ASCII as \\u escapes)", async () => {
    const { json } = await rows('6/1/2019 1:00:00 AM,ip,x,caf\u00e9 "r",a\r\n');
    expect(json).toContain('"reader_id": "caf\\u00e9 \\"r\\""');
  });
});
