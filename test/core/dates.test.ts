import { describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import { addDays, parseDate, pyStr, PyStrFormatter, socrataTime, fixedClock, todayMidnight, earliestTime } from "../../src/util/dates.js";
import { UsageError } from "../../src/support/errors.js";
import { parseOptions } from "../../src/support/etl-app.js";
import { TtIngest, testRuntime, tempDir } from "./helpers.js";

const Z = "America/Chicago";

describe("date rules (DST matrix, America/Chicago)", () => {
  it.each([
    ["2024-03-10", 23],
    ["2024-11-03", 25],
    ["2024-06-01", 24],
  ])("%s lasts %i hours and +1 day is the next local midnight", (day, hours) => {
    const d = parseDate(day, Z);
    const next = addDays(d, 1);
    expect(next.toFormat("yyyy-MM-dd HH:mm")).toBe(`${addDays(d, 1).toISODate()} 00:00`);
    expect(next.diff(d, "hours").hours).toBe(hours);
  });

  it("parses a date as local midnight with the day's own offset", () => {
    expect(pyStr(parseDate("2024-11-03", Z))).toBe("2024-11-03 00:00:00-05:00");
    expect(pyStr(parseDate("2024-11-04", Z))).toBe("2024-11-04 00:00:00-06:00");
    expect(pyStr(parseDate("2024-03-10", Z))).toBe("2024-03-10 00:00:00-06:00");
    expect(pyStr(parseDate("2024-03-11", Z))).toBe("2024-03-11 00:00:00-05:00");
  });

  it("-r 0 and the empty date mean 2000-01-01 local midnight (B23: configured zone, not the host's)", () => {
    expect(pyStr(parseDate("0", Z))).toBe("2000-01-01 00:00:00-06:00");
    expect(pyStr(parseDate("", Z))).toBe("2000-01-01 00:00:00-06:00");
    expect(pyStr(earliestTime("Europe/Paris"))).toBe("2000-01-01 00:00:00+01:00");
  });

  it("honours Z and explicit offsets as instants (fixes B23)", () => {
    expect(pyStr(parseDate("2024-06-01T05:00:00Z", Z))).toBe("2024-06-01 00:00:00-05:00");
    expect(pyStr(parseDate("2024-06-01T12:00:00+00:00", Z))).toBe("2024-06-01 07:00:00-05:00");
    expect(pyStr(parseDate("2024-06-01 12:00:00", Z))).toBe("2024-06-01 12:00:00-05:00");
    expect(pyStr(parseDate("2024-06-01T12:34:00", Z, { dateOnly: true }))).toBe("2024-06-01 00:00:00-05:00");
  });

  it("reads a UNIX time", () => {
    expect(pyStr(parseDate("1717218000", Z))).toBe("2024-06-01 00:00:00-05:00");
  });

  it("rejects malformed dates with the flag named", () => {
    expect(() => parseDate("2024-13-45", Z, { flag: "-s" })).toThrow(UsageError);
    expect(() => parseDate("yesterday", Z, { flag: "-s" })).toThrow(/Malformed date -s "yesterday"/);
  });

  it("formats Python str(datetime) with microseconds only when non-zero, and Socrata local time", () => {
    const t = DateTime.fromISO("2019-06-02T04:00:33.234-05:00", { setZone: true });
    expect(pyStr(t)).toBe("2019-06-02 04:00:33.234000-05:00");
    expect(pyStr(t, 234377)).toBe("2019-06-02 04:00:33.234377-05:00");
    expect(socrataTime(t)).toBe("2019-06-02T04:00:33");
  });

  it("today is the configured zone's midnight from the injected clock (fixes B32)", () => {
    // 03:30 UTC on Nov 4 is still Nov 3 in Chicago.
    expect(pyStr(todayMidnight(Z, fixedClock("2024-11-04T03:30:00Z")))).toBe("2024-11-03 00:00:00-05:00");
    expect(pyStr(todayMidnight("UTC", fixedClock("2024-11-04T03:30:00Z")))).toBe("2024-11-04 00:00:00+00:00");
  });
});

describe("standard flags", () => {
  const home = tempDir();
  const app = (args: string[] | Record<string, unknown>, clock = "2024-11-05T10:00:00-06:00") =>
    new TtIngest(parseOptions(TtIngest, args), testRuntime(home, { clock: fixedClock(clock) }));

  it("numeric -s counts calendar days back from today's local midnight, across DST", () => {
    const a = app(["-s", "3"]);
    expect(pyStr(a.startDate!)).toBe("2024-11-02 00:00:00-05:00");
    expect(a.describeWindow()).toBe("2024-11-02 onward");
    const b = app(["-s", "0"]);
    expect(pyStr(b.startDate!)).toBe("2024-11-05 00:00:00-06:00");
    const spring = app(["-s", "1"], "2024-03-11T09:00:00-05:00");
    expect(pyStr(spring.startDate!)).toBe("2024-03-10 00:00:00-06:00");
  });

  it("-e equal to -s means exactly that day (fixes B9)", () => {
    const a = app(["-s", "2024-11-03", "-e", "2024-11-03"]);
    expect(a.window.end!.diff(a.window.start!, "hours").hours).toBe(25);
    expect(a.describeWindow()).toBe("2024-11-03 only");
  });

  it("requires -r or -s, rejects an end before the start, unknown flags and malformed dates", () => {
    expect(() => app([])).toThrow(/last run date \(-r\/--last-run-date\) or a start date \(-s\/--start\)/);
    expect(() => app(["-s", "2024-11-05", "-e", "2024-11-01"])).toThrow(/before the start/);
    expect(() => app(["-s", "2024-11-05", "--bogus"])).toThrow(UsageError);
    expect(() => app(["-s", "11/05/2024"])).toThrow(/Malformed date/);
    expect(() => app({ start_date: "2024-11-01", nonsense: 1 })).toThrow(/unknown option "nonsense"/);
  });

  it("takes an options object keyed by long names (fixes B22)", () => {
    const a = app({ last_run_date: "0", start_date: "2024-11-01", end_date: "2024-11-04", force: true, simulate: true });
    expect(a.force).toBe(true);
    expect(a.simulate).toBe(true);
    expect(a.lastRunDate!.toISODate()).toBe("2000-01-01");
    expect(a.describeWindow()).toBe("2024-11-01 up to 2024-11-04");
  });
});

describe("PyStrFormatter (str(datetime) of many instants in one zone)", () => {
  it("formats local time like Python str(datetime) across the fall-back hour", () => {
    const f = new PyStrFormatter(Z);
    expect(f.format(Date.parse("2024-11-03T06:30:00Z"))).toBe("2024-11-03 01:30:00-05:00");
    expect(f.format(Date.parse("2024-11-03T07:30:00.25Z"))).toBe("2024-11-03 01:30:00.250000-06:00");
    expect(f.format(Date.parse("2024-11-03T07:30:00Z"), 7)).toBe("2024-11-03 01:30:00.000007-06:00");
    expect(f.format(Date.parse("2024-03-10T07:59:59.999Z"))).toBe("2024-03-10 01:59:59.999000-06:00");
    expect(f.format(Date.parse("2024-03-10T08:00:00Z"))).toBe("2024-03-10 03:00:00-05:00");
  });

  it("is pyStr of the luxon DateTime in the zone, DST days and odd offsets included, in any order of instants", () => {
    // Chicago's two DST days; Kathmandu (+05:45), St John's (-03:30 / -02:30), Lord Howe (30-minute DST), UTC.
    const spans: [string, string][] = [
      [Z, "2024-03-10T00:00:00-06:00"], [Z, "2024-11-03T00:00:00-05:00"], ["Asia/Kathmandu", "2024-06-01T00:00:00+05:45"],
      ["America/St_Johns", "2024-11-03T00:00:00-02:30"], ["Australia/Lord_Howe", "2024-04-07T00:00:00+11:00"], ["UTC", "2024-02-29T00:00:00Z"],
    ];
    for (const [zone, from] of spans) {
      const f = new PyStrFormatter(zone);
      const start = Date.parse(from);
      // Every 97.3 s over two days, late instants first: minutes are made out of order and reused.
      const instants = Array.from({ length: 1776 }, (_, i) => start + Math.round(i * 97_300)).reverse();
      for (const ms of instants) {
        expect([zone, f.format(ms)]).toEqual([zone, pyStr(DateTime.fromMillis(ms, { zone }))]);
        expect(f.format(ms, 5)).toBe(pyStr(DateTime.fromMillis(ms, { zone }), (ms % 1000) * 1000 + 5));
      }
    }
  });
});
