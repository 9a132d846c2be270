/** The command line's logger: timestamps, levels, --verbose/--quiet, --log-format json, warnings of one cause counted. */
import { writeFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { attachConsole } from "../../src/cli/console.js";
import { causeOf, Logger, takeLogFlags } from "../../src/cli/log.js";
import { createProgress } from "../../src/cli/progress.js";
import { LakeEventBus } from "../../src/support/events.js";
import { captureCli, fakeStream, tempHome } from "./helpers.js";


const T0 = Date.parse("2024-11-20T16:00:00Z");
const text = (level: "debug" | "info" | "warn" = "info") => new Logger({ level, format: "text" }).at(() => T0);
const json = (level: "debug" | "info" | "warn" = "info") => new Logger({ level, format: "json" }).at(() => T0);

/** A stage run's events: a start, an info line, 22 warnings of one cause (one per zone of two devices), a skip. */
function emitRun(events: LakeEventBus): void {
  events.emit("run.start", { app: "gs-ready", dataSource: "gs", stage: "ready", window: "2024-11-09 only", simulate: false, debug: false });
  events.emit("log", { app: "gs-ready", level: "info", message: "3 devices" });
  for (const device of ["Lamar_38th", "Congress_Oltorf"]) {
    for (let z = 0; z < 11; z++) {
      const guid = `0296066c-9c50-7a1f-26b1-8363cd74b9${String(z).padStart(2, "0")}`;
      events.emit("log", { app: "gs-ready", level: "warn", message: `${device}/2024-11-09: zone ${guid}: no file for 2024-11-10, which holds part of 2024-11-09 (day_covered -1)` });
    }
  }
  events.emit("item.skipped", { app: "gs-ready", item: "Lamar_38th/2024-11-08", reason: "already done" });
  events.emit("run.end", { app: "gs-ready", summary: { app: "gs-ready", processed: 0, skipped: 1, failed: 0, records: 0, seconds: 0, failures: [], skipReasons: {}, simulate: false } });
}

async function consoleOf(log: Logger): Promise<string[]> {
  const f = fakeStream(false);
  const events = new LakeEventBus();
  const detach = await attachConsole(events, { stream: f.stream, log });
  emitRun(events);
  detach();
  return f.text().trim().split("\n");
}

describe("the logger", () => {
  it("a text line has a UTC timestamp and its level; a json line is one object with time, level, app, message", () => {
    expect(text().format("warn", "disk low", { app: "wt-ready" })).toBe("2024-11-20T16:00:00.000Z WARN  wt-ready: disk low");
    expect(JSON.parse(json().format("info", "started", { app: "wt-ready", count: 2 }))).toEqual({
      time: "2024-11-20T16:00:00.000Z",
      level: "info",
      app: "wt-ready",
      message: "started",
      count: 2,
    });
  });

  it("takes -v/--verbose, -q/--quiet and --log-format out of any command line (not after --)", () => {
    expect(takeLogFlags(["run", "wt-ready", "-s", "7", "--verbose"])).toEqual({ argv: ["run", "wt-ready", "-s", "7"], settings: { level: "debug" } });
    expect(takeLogFlags(["-q", "pipeline", "wt", "--log-format", "json"])).toEqual({ argv: ["pipeline", "wt"], settings: { level: "warn", format: "json" } });
    expect(takeLogFlags(["doctor", "--log-format=json", "--", "-q"])).toEqual({ argv: ["doctor", "--", "-q"], settings: { format: "json" } });
    expect(() => takeLogFlags(["list", "--log-format", "yaml"])).toThrow(/text or json/);
  });

  it("a warning repeated for one cause: the first at once, the repeats as one line with their count; other lines keep their levels", async () => {
    const lines = await consoleOf(text());
    expect(lines.every((l) => /^2024-11-20T16:00:00\.000Z (INFO |WARN |DEBUG|ERROR) /.test(l)), lines.join("\n")).toBe(true);
    const warns = lines.filter((l) => l.includes(" WARN "));
    expect(warns).toEqual([
      "2024-11-20T16:00:00.000Z WARN  gs-ready: Lamar_38th/2024-11-09: zone 0296066c-9c50-7a1f-26b1-8363cd74b900: no file for 2024-11-10, which holds part of 2024-11-09 (day_covered -1)",
      "2024-11-20T16:00:00.000Z WARN  gs-ready: 21 more like it (22 in all), the last: Congress_Oltorf/2024-11-09: zone 0296066c-9c50-7a1f-26b1-8363cd74b910: no file for 2024-11-10, which holds part of 2024-11-09 (day_covered -1)",
    ]);
    expect(lines.some((l) => l.endsWith("INFO  gs-ready: 3 devices"))).toBe(true);
    expect(lines.some((l) => l.includes("skipped"))).toBe(false); // a debug line
    const records = (await consoleOf(json())).map((l) => JSON.parse(l) as { level: string; count?: number });
    expect(records.filter((r) => r.level === "warn").map((r) => r.count)).toEqual([undefined, 22]);
    expect(causeOf("a/2024-11-09: zone 0296066c-9c50-7a1f-26b1-8363cd74b9a8: 12 rows")).toBe("zone <id>: <n> rows");
  });

  it("--verbose shows debug lines (skipped items); --quiet only warnings and errors", async () => {
    expect((await consoleOf(text("debug"))).some((l) => l.endsWith("DEBUG gs-ready: skipped Lamar_38th/2024-11-08: already done"))).toBe(true);
    const quiet = await consoleOf(text("warn"));
    expect(quiet).toHaveLength(2);
    expect(quiet[1]).toMatch(/ WARN  gs-ready: 21 more like it \(22 in all\)/);
  });

  it("the stage progress bar shows the real rate: items done per second since the bar started", async () => {
    const f = fakeStream(true);
    let now = T0;
    const events = new LakeEventBus();
    const detach = await attachConsole(events, { stream: f.stream, log: text(), now: () => now });
    events.emit("plan.size", { app: "wt-ready", total: 4 });
    for (let i = 0; i < 4; i++) {
      now += 500;
      events.emit("item.done", { app: "wt-ready", item: `i${i}`, count: 1, records: 10, ms: 500 });
    }
    events.emit("run.end", { app: "wt-ready", summary: { app: "wt-ready", processed: 4, skipped: 0, failed: 0, records: 40, seconds: 2, failures: [], skipReasons: {}, simulate: false } });
    detach();
    expect(f.text()).toMatch(/wt-ready \[[█░]+\] 4\/4 items \| 2\.0\/s \|/);
  });

  it("block progress lines off a terminal are log lines (timestamp, level; a failed block a warning)", () => {
    const f = fakeStream(false);
    const p = createProgress({ stream: f.stream, label: "backfill tt", log: text() });
    p.start(1);
    p.done({ source: "tt", stage: "tt-make", day: "2024-11-02", status: "failed", message: "boom", counts: { processed: 0, skipped: 0, failed: 1, records: 0 }, seconds: 0.25 });
    expect(f.text()).toBe(
      "2024-11-20T16:00:00.000Z INFO  backfill tt: 1 to run\n" +
        "2024-11-20T16:00:00.000Z WARN  [1/1] tt-make 2024-11-02: failed (0 items processed, 0 skipped, 1 failed, 0 rows, 0.3 s) — boom\n",
    );
  });
});

describe("logging flags on the command line", () => {
  const home = tempHome("lake-log-");
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("--log-format json makes an expected error one JSON line without a stack; a bad format is a usage error", async () => {
    const config = path.join(home, "lake.config.json");
    writeFileSync(config, JSON.stringify({ home: ".", catalog: { driver: "postgrest", timeoutMs: 1000, options: { url: "http://127.0.0.1:1" } }, retry: { retries: 0 } }));
    const r = await captureCli(["coverage", "wt", "-s", "2024-11-01", "-e", "2024-11-02", "--log-format", "json", "--config", config]);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split("\n");
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: string; message: string };
    expect(line.level).toBe("error");
    expect(line.message).toMatch(/cannot reach PostgREST at http:\/\/127\.0\.0\.1:1/);
    expect(line.message).not.toMatch(/\n\s+at /);
    const bad = await captureCli(["list", "--log-format", "yaml"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--log-format must be text or json/);
    for (const args of [["doctor", "--help"], ["run", "--help"], ["run", "wt-ready", "--help"], ["pipeline", "--help"], ["--help"]]) {
      expect((await captureCli(args)).out, args.join(" ")).toMatch(/-q, --quiet .*\n.*--log-format <fmt>/);
    }
  });
});
