/**
 * The byte writers used by the stages (kitsCsvBytes, standardizeJson, readyJson) give exactly the bytes of the
 * object forms (kitsCsv, pyJson of standardize and ready), whatever the CSV's line ends, BOM or quoting.
 */
import { describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import {
  CSV_HEADER,
  kitsCsv,
  kitsCsvBytes,
  ready,
  readyJson,
  standardize,
  standardizeJson,
  type StdJson,
  type WtHeader,
} from "../../src/sources/wt/transform.js";
import { pyJson } from "../../src/util/pyjson.js";
import type { KitsRow } from "../../src/sources/wt/queries.js";

const ZONE = "America/Chicago";
const HEADER: WtHeader = {
  data_type: "wavetronix",
  origin_filename: "Austin_wt_2024-11-03.csv",
  target_filename: "Austin_wt_2024-11-03.json",
  collection_date: "2024-11-03 00:00:00-05:00",
  processing_date: "2024-11-20 10:00:00-06:00",
};

function kits(i: number, over: Partial<KitsRow> = {}): KitsRow {
  return {
    detID: 100 + (i % 3), intID: 1 + (i % 2), curDateTime: `2024-11-03 01:${String((i * 7) % 60).padStart(2, "0")}:00`,
    intName: i % 2 ? "LAMARMANCHACA" : "BURNETRICHCREEK", detName: ["NB_in", "SB_out", "EB"][i % 3], volume: i, occupancy: 0,
    speed: 30 + i, status: "Working", uploadSuccess: 100, detCountComparison: 1, dailyCumulative: i * 2, ...over,
  };
}

const rows = [
  ...Array.from({ length: 20 }, (_, i) => kits(i)),
  kits(20, { intName: "LAMAR, MANCHACA", detName: 'N"B' }),
  kits(21, { status: "two\nlines", speed: null }),
  kits(22, { intName: "Café ü" }),
  kits(23, { volume: "x" as unknown as number }),
  kits(24, { curDateTime: "" }),
];

function variants(csv: string): [string, string | Buffer][] {
  return [
    ["CRLF text", csv],
    ["CRLF bytes", Buffer.from(csv, "utf8")],
    ["LF", csv.replace(/\r\n/g, "\n")],
    ["BOM", `\uFEFF${csv}`],
    ["blank lines", csv.replace(/\r\n/g, "\r\n\r\n")],
    ["no last line end", csv.replace(/\r\n$/, "")],
    ["mixed line ends", csv.replace("\r\n", "\n")],
    ["CR only", csv.replace(/\r\n/g, "\r")],
    ["short row", `${csv}1,2,3\r\n`],
  ];
}

describe("kitsCsvBytes", () => {
  it("is kitsCsv as UTF-8 bytes (quoted rows included)", () => {
    const { body, rows: n } = kitsCsvBytes(rows);
    expect(n).toBe(rows.length);
    expect(body.toString("utf8")).toBe(kitsCsv(rows).text);
  });
});

describe("standardizeJson", () => {
  const plain = kitsCsv(rows.filter((r) => !/[",\n]/.test(`${r.intName}${r.detName}${r.status}`))).text;
  const quoted = kitsCsv(rows).text;
  for (const [name, input] of [...variants(plain), ...variants(quoted).map(([n, v]) => [`quoted, ${n}`, v] as [string, string | Buffer])]) {
    it(`equals pyJson of standardize: ${name}`, () => {
      const objects = standardize(input, { file: "f.csv", zone: ZONE });
      const text = standardizeJson(input, { file: "f.csv", zone: ZONE }, HEADER);
      expect(text.body.toString("utf8")).toBe(pyJson({ header: HEADER, data: objects.data }));
      expect(text.rows).toBe(objects.data.length);
      expect(text.badRows).toEqual(objects.badRows);
      expect([...text.perf.keys()]).toEqual([...objects.perf.keys()]);
    });
  }

  it("keeps standardize's errors for an empty file and a header without the columns", () => {
    expect(() => standardizeJson("", { file: "x.csv", zone: ZONE }, HEADER)).toThrow(/x\.csv: the file is empty/);
    expect(() => standardizeJson("detID,intID\n1,2\n", { file: "x.csv", zone: ZONE }, HEADER)).toThrow(/header line lacks column\(s\) curDateTime/);
    expect(CSV_HEADER).toHaveLength(12);
  });
});

describe("readyJson", () => {
  const devices = [
    { device_type: "RADAR", device_name: "A", device_ip: "10.0.0.1", lat: 30.25, lon: -97, kits_id: 1 },
    { device_type: "RADAR", device_name: "TWIN", device_ip: "10.0.0.2", lat: 30.25, lon: -97, kits_id: 1 },
    { device_type: "RADAR", device_name: "B", device_ip: "10.0.0.3", lat: null, lon: -97.5, kits_id: "3" },
  ];
  const processing = DateTime.fromISO("2024-11-20T10:00:00", { zone: ZONE });
  const std = standardizeJson(kitsCsv(rows).text, { file: "f.csv", zone: ZONE }, HEADER).body.toString("utf8");

  it("equals pyJson of ready for rows as wt-json-standard writes them", () => {
    const objects = ready(JSON.parse(std) as StdJson, devices, processing);
    const text = readyJson(JSON.parse(std) as StdJson, devices, processing);
    expect(text.body.toString("utf8")).toBe(pyJson(objects.json));
    expect(text.rows).toBe(objects.json.data.length);
    expect([...text.dropped]).toEqual([...objects.dropped]);
  });

  it("writes rows with other keys or value types as pyJson does", () => {
    const odd = JSON.parse(std) as StdJson;
    const data = odd.data as unknown as Record<string, unknown>[];
    data[0] = { extra: 1, ...data[0] };
    data[1]!.volume = 2.5;
    data[2]!.detName = null;
    data[3]!.status = "\u00e9\u0001";
    const objects = ready(JSON.parse(JSON.stringify(odd)) as StdJson, devices, processing);
    expect(readyJson(odd, devices, processing).body.toString("utf8")).toBe(pyJson(objects.json));
  });
});
