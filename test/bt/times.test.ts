import { describe, expect, it } from "vitest";
import { AwamTimeParser, socrataWallTime, socrataWallTimeOfBytes, weekdayName } from "../../src/sources/bt/times.js";

const p = new AwamTimeParser("America/Chicago");

describe("AWAM timestamps → str(datetime) in America/Chicago", () => {
  it("reads AM/PM with and without seconds", () => {
    expect(p.parse("5/31/2019 11:48:20 PM", true)).toBe("2019-05-31 23:48:20-05:00");
    expect(p.parse("6/1/2019 1:02:03 PM", true)).toBe("2019-06-01 13:02:03-05:00");
    expect(p.parse("6/1/2019 9:15 AM", false)).toBe("2019-06-01 09:15:00-05:00");
    expect(p.parse("12/03/2010 12:00:12 AM", true)).toBe("2010-12-03 00:00:12-06:00");
  });

  it("midnight is 12 AM and noon is 12 PM", () => {
    expect(p.parse("6/1/2019 12:00:00 AM", true)).toBe("2019-06-01 00:00:00-05:00");
    expect(p.parse("6/1/2019 12:59:59 AM", true)).toBe("2019-06-01 00:59:59-05:00");
    expect(p.parse("6/1/2019 12:00:00 PM", true)).toBe("2019-06-01 12:00:00-05:00");
    expect(p.parse("6/1/2019 12:30 PM", false)).toBe("2019-06-01 12:30:00-05:00");
    expect(p.parse("6/1/2019 11:59:59 PM", true)).toBe("2019-06-01 23:59:59-05:00");
  });

  it("accepts zero padding and lower-case meridiem, as strptime does", () => {
    expect(p.parse("06/01/2019 09:05:07 am", true)).toBe("2019-06-01 09:05:07-05:00");
    expect(p.parse("6/1/2019 9:5:7 pm", true)).toBe("2019-06-01 21:05:07-05:00");
  });

  it("gives null for text that is not a time of the format", () => {
    for (const bad of ["", "bad time", "13/1/2019 1:00:00 AM", "2/30/2019 1:00:00 AM", "6/1/2019 13:00:00 PM", "6/1/2019 0:00:00 AM", "6/1/2019 1:60:00 AM", "6/1/2019 1:00:60 AM", "6/1/2019 1:00:00", "2019-06-01 01:00:00", " 6/1/2019 1:00:00 AM"]) {
      expect(p.parse(bad, true), bad).toBeNull();
    }
    expect(p.parse("6/1/2019 1:00:00 AM", false)).toBeNull();
    expect(p.parse("6/1/2019 1:00 AM", true)).toBeNull();
    expect(p.parse(null, true)).toBeNull();
  });

  describe("DST (America/Chicago)", () => {
    it("fall back 2019-11-03: the ambiguous 1 AM hour takes the standard offset -06:00 (pytz is_dst=False)", () => {
      expect(p.parse("11/3/2019 12:59:59 AM", true)).toBe("2019-11-03 00:59:59-05:00");
      expect(p.parse("11/3/2019 1:00:00 AM", true)).toBe("2019-11-03 01:00:00-06:00");
      expect(p.parse("11/3/2019 1:30:00 AM", true)).toBe("2019-11-03 01:30:00-06:00");
      expect(p.parse("11/3/2019 1:59:59 AM", true)).toBe("2019-11-03 01:59:59-06:00");
      expect(p.parse("11/3/2019 2:00:00 AM", true)).toBe("2019-11-03 02:00:00-06:00");
    });

    it("spring forward 2019-03-10: the nonexistent 2 AM hour keeps its wall clock with the standard offset -06:00", () => {
      expect(p.parse("3/10/2019 1:59:59 AM", true)).toBe("2019-03-10 01:59:59-06:00");
      expect(p.parse("3/10/2019 2:00:00 AM", true)).toBe("2019-03-10 02:00:00-06:00");
      expect(p.parse("3/10/2019 2:30:00 AM", true)).toBe("2019-03-10 02:30:00-06:00");
      expect(p.parse("3/10/2019 3:00:00 AM", true)).toBe("2019-03-10 03:00:00-05:00");
      // …which is the instant 03:30 CDT.
      expect(Date.parse("2019-03-10T02:30:00-06:00")).toBe(Date.parse("2019-03-10T03:30:00-05:00"));
    });

    it("uses the configured zone, not the host's", () => {
      const sydney = new AwamTimeParser("Australia/Sydney");
      expect(sydney.parse("6/1/2019 12:00:00 PM", true)).toBe("2019-06-01 12:00:00+10:00");
      expect(sydney.parse("1/1/2019 12:00:00 PM", true)).toBe("2019-01-01 12:00:00+11:00");
      // Sydney falls back on 2019-04-07 at 03:00 → 02:00: 02:30 is ambiguous → standard +10:00.
      expect(sydney.parse("4/7/2019 2:30:00 AM", true)).toBe("2019-04-07 02:30:00+10:00");
    });
  });
});

describe("Socrata wall time and weekday", () => {
  it("keeps the text's wall clock (strftime of the parsed text)", () => {
    expect(socrataWallTime("2019-05-31 23:48:20-05:00")).toBe("2019-05-31T23:48:20");
    expect(socrataWallTime("2019-03-10 02:30:00-06:00")).toBe("2019-03-10T02:30:00");
    expect(socrataWallTime("2019-11-03 01:30:00-06:00")).toBe("2019-11-03T01:30:00");
    expect(socrataWallTime("2019-06-02 04:00:33.234000-05:00")).toBe("2019-06-02T04:00:33");
  });
  it("is null for null or unparseable text (B38)", () => {
    expect(socrataWallTime(null)).toBeNull();
    expect(socrataWallTime("")).toBeNull();
    expect(socrataWallTime("not a time")).toBeNull();
  });
  it("names the weekday of the wall-clock date", () => {
    expect(weekdayName("2019-05-31T23:48:20")).toBe("Friday");
    expect(weekdayName("2019-06-01T00:00:00")).toBe("Saturday");
    expect(weekdayName("2019-06-02T12:00:00")).toBe("Sunday");
  });
});

describe("socrataWallTime of text and of bytes", () => {
  // The format, as a pattern: YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}][±HH:MM|Z].
  const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d{1,6})?(?:[+-]\d{2}:\d{2}|Z)?$/;
  const expected = (t: string) => {
    const m = PATTERN.exec(t);
    return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}` : null;
  };
  it("keeps the wall clock of the text, or gives null for text not of the format", () => {
    const texts = [
      "2019-06-01 00:00:01-05:00",
      "2019-06-01T13:59:59",
      "2019-06-01 13:59:59.1",
      "2019-06-01 13:59:59.123456+01:00",
      "2019-06-01 13:59:59.1234567",
      "2019-06-01 13:59:59.",
      "2019-06-01 13:59:59Z",
      "2019-06-01 13:59:59-05:0",
      "2019-06-01 13:59:59-0500",
      "2019-06-01 13:59:59 ",
      "2019-06-01 13:59",
      "2019-06-01x13:59:59",
      "2019/06/01 13:59:59",
      "2019-06-01 1a:59:59",
      "2019-06-01 \u0661:59:59",
      "6/1/2019 1:59:59 PM",
      "",
      "2019-06-01 13:59:59-05:00Z",
    ];
    for (const t of texts) {
      expect(socrataWallTime(t), t).toBe(expected(t));
      const buf = Buffer.from(`"${t}"`, "utf8");
      expect(socrataWallTimeOfBytes(buf, 1, buf.length - 1), t).toBe(expected(t));
    }
    expect(socrataWallTime(null)).toBeNull();
    expect(socrataWallTime(20190601)).toBeNull();
  });
});
