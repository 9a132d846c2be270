import { describe, expect, it } from "vitest";
import { DailyAddressCounter, isSkip, matchedRow, unmatchedRow } from "../../src/sources/bt/publish.js";
import { md5Concat } from "../../src/util/pyjson.js";

const devices = new Map([
  ["id-a", "reader_a"],
  ["id-b", "reader_b"],
]);

describe("daily device-address counter", () => {
  it("numbers distinct addresses by first appearance; null has no number", () => {
    const c = new DailyAddressCounter();
    expect(["x", "y", "x", null, "z", "y"].map((a) => c.add(a))).toEqual([1, 2, 1, null, 3, 2]);
    expect(["x", "y", "z", null, "unknown"].map((a) => c.get(a))).toEqual([1, 2, 3, null, null]);
    expect(c.size).toBe(3);
  });
});

describe("row shapes", () => {
  it("unmatched: local wall times, reader name from the devices, record_id over str() values", () => {
    const row = unmatchedRow(
      { host_timestamp: "2019-06-01 00:00:00-05:00", field_timestamp: "2019-06-01 00:00:12-05:00", reader_id: "reader_a", dev_addr: "addr", device_id: "id-a" },
      devices,
      1,
    );
    expect(row).toEqual({
      host_read_time: "2019-06-01T00:00:00",
      field_device_read_time: "2019-06-01T00:00:12",
      reader_identifier: "reader_a",
      device_address: 1,
      record_id: md5Concat("2019-06-01T00:00:00", "reader_a", 1),
    });
  });

  it("matched: day_of_week from start_time; a missing time or unknown device id is a counted skip, not a crash (B38)", () => {
    const line = {
      dev_addr: "a", origin_reader_id: "reader_a", dest_reader_id: "reader_b", start_time: "2019-06-02 23:59:59-05:00", end_time: "2019-06-03 00:10:00-05:00",
      travel_time_secs: "600", speed: "5", match_validity: "valid", filter_id: "125", origin_device_id: "id-a", dest_device_id: "id-b",
    };
    const ok = matchedRow(line, devices, null);
    expect(isSkip(ok)).toBe(false);
    expect(ok).toMatchObject({ day_of_week: "Sunday", device_address: null, start_time: "2019-06-02T23:59:59" });
    expect(matchedRow({ ...line, start_time: null }, devices, null)).toEqual({ skip: "start_time missing or not a time" });
    expect(matchedRow({ ...line, end_time: "garbage" }, devices, null)).toEqual({ skip: "end_time missing or not a time" });
    expect(matchedRow({ ...line, dest_device_id: "nope" }, devices, null)).toEqual({ skip: "destination device id not among the file's devices" });
  });
});
