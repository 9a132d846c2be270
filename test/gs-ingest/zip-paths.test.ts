/**
 * Plain archives are inflated with node's zlib, any other with fflate: both give fflate's bytes, and a damaged
 * stream is worded as before.
 */
import { unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { readCountsArchive } from "../../src/sources/gs/zip.js";

const enc = new TextEncoder();
const rows = (n: number) => enc.encode("8,23,1.0,-300,S\r\n".repeat(n));

function zonesOf(bytes: Uint8Array) {
  return readCountsArchive(bytes, "x.zip").zones.map((z) => [z.path, Buffer.from(z.data).toString("base64")]);
}

describe("GRIDSMART archive inflation", () => {
  it("stored, deflated and empty entries, Type A and B, give fflate's bytes", () => {
    const files = {
      "00-30-53-26-e6-e1/2024-11-05/a.csv": [rows(200), { level: 6 }],
      "00-30-53-26-e6-e1/2024-11-05/b.csv": [rows(3), { level: 0 }],
      "00-30-53-26-e6-e1/2024-11-05/c.csv": [new Uint8Array(0), { level: 6 }],
    } as const;
    const a = zipSync(files as never);
    const expected = Object.entries(unzipSync(a)).map(([k, v]) => [k, Buffer.from(v).toString("base64")]);
    expect(zonesOf(a)).toEqual(expected);
    const b = zipSync({ "00-30-53-26-e6-e1/2024-11-05.zip": zipSync({ "a.csv": rows(200), "b.csv": [rows(3), { level: 0 }] } as never) });
    expect(zonesOf(b).map(([p]) => p)).toEqual(["00-30-53-26-e6-e1/2024-11-05.zip/a.csv", "00-30-53-26-e6-e1/2024-11-05.zip/b.csv"]);
    expect(zonesOf(b)[0]![1]).toBe(expected[0]![1]);
  });

  it("a damaged deflate stream is refused as fflate words it", () => {
    const good = Uint8Array.from(zipSync({ "00-30-53-26-e6-e1/2024-11-05/a.csv": rows(400) }));
    const bad = Uint8Array.from(good);
    bad[30 + 34 + 10] ^= 0xff; // inside the compressed data: after the 30-byte local header and the 34-byte name
    let fflateMessage = "";
    try {
      unzipSync(bad);
    } catch (e) {
      fflateMessage = (e as Error).message;
    }
    const expected = fflateMessage ? new RegExp(`not a readable zip archive \\(${fflateMessage}\\)|CRC-32`) : /CRC-32/;
    expect(() => readCountsArchive(bad, "bad.zip")).toThrow(expected);
  });
});
