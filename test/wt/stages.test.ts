import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { DateTime } from "luxon";
import { afterEach, describe, expect, it } from "vitest";
import { DATASET, REPO, loadKitsFixture, makeHarness, type Harness } from "./harness.js";
import { DEMO_INTERSECTIONS, createKitsDatabase, manyIntersections, radarDevices } from "../../src/sources/wt/simulate.js";
import { BAD_ROW_REASON } from "../../src/sources/wt/source.js";
import { NO_DEVICE_REASON } from "../../src/sources/wt/source.js";
const insertLake = wtSource.stage("wt-insert-lake").main;
import { validateConfig } from "../../src/config/load.js";
import { LakeRuntime } from "../../src/support/runtime.js";
import { ConfigError, TerminalError } from "../../src/support/errors.js";
import { fixedClock } from "../../src/util/dates.js";
import type { SqlDriver } from "../../src/support/drivers.js";
import wtSource from "../../src/sources/wt/source.js";

const ZONE = "America/Chicago";
const harnesses: Harness[] = [];
function harness(...args: Parameters<typeof makeHarness>): Harness {
  const h = makeHarness(...args);
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

async function runAll(h: Harness, window: Record<string, unknown>) {
  const out = [];
  for (const stage of ["insert", "standard", "ready", "soc"] as const) out.push(await h.run(stage, window));
  return out;
}

const demoKits = (from: string, to: string) => (file: string) => createKitsDatabase(file, { zone: ZONE, from, to });

describe("the fall-back day 2024-11-03 (25 hours of readings)", () => {
  it("goes through every stage with 100 readings per detector and no collapsed rows", async () => {
    const h = harness({ kits: demoKits("2024-11-02", "2024-11-05"), devices: radarDevices() });
    const [ins, std, rdy, soc] = await runAll(h, { last_run_date: "0", start_date: "2024-11-03", end_date: "2024-11-03" });
    const detectors = DEMO_INTERSECTIONS.reduce((n, x) => n + x.detectors.length, 0); // 11
    const inventoried = DEMO_INTERSECTIONS.filter((x) => x.inInventory).reduce((n, x) => n + x.detectors.length, 0); // 9
    expect(ins).toMatchObject({ processed: 1, records: detectors * 100 });
    expect(std).toMatchObject({ processed: 1, records: detectors * 100 });
    expect(rdy).toMatchObject({ processed: 1, records: inventoried * 100 });
    expect(rdy!.rowsLeftOut![NO_DEVICE_REASON]).toBe(200);
    expect(soc).toMatchObject({ processed: 1, records: inventoried * 100 });

    const csv = await h.object(REPO.raw, "2024/11/03/wt/Austin_wt_2024-11-03.csv");
    const det101 = csv.split("\r\n").filter((l) => l.startsWith("101,"));
    expect(det101).toHaveLength(100);
    expect(det101.filter((l) => l.includes(",2024-11-03 01:30:00,"))).toHaveLength(2);

    const stdJson = JSON.parse(await h.object(REPO.standardized, "2024/11/03/wt/Austin_wt_2024-11-03.json")) as { data: { detID: number; curDateTime: string }[] };
    const times101 = stdJson.data.filter((r) => r.detID === 101).map((r) => r.curDateTime);
    expect(new Set(times101).size).toBe(100);
    expect(times101).toContain("2024-11-03 01:30:00-05:00");
    expect(times101).toContain("2024-11-03 01:30:00-06:00");

    const readyJson = JSON.parse(await h.object(REPO.ready, "2024/11/03/wt/Austin_wt_2024-11-03.json")) as { data: { curDateTime: string }[] };
    const instants = readyJson.data.map((r) => DateTime.fromISO(r.curDateTime.replace(" ", "T")).toMillis());
    expect(instants).toEqual([...instants].sort((a, b) => a - b));

    expect(await h.publisher.countRows(DATASET)).toBe(inventoried * 100);
    const hours = h.publisher.rows(DATASET).filter((r) => r.detid === 101).map((r) => r.hour);
    expect(hours.filter((x) => x === 1)).toHaveLength(8);
  });
});

describe("bad input", () => {
  it("a non-numeric volume and a missing time are skipped with file/row/field messages; the day goes on", async () => {
    const h = harness({
      kits: (file) => {
        loadKitsFixture(file);
        const db = new Database(file);
        db.prepare("UPDATE SYSDETHISTORYRM SET VOLUME = 'n/a' WHERE DETID = 102 AND CURDATETIME = '2024-11-05 10:07:00'").run();
        db.close();
      },
    });
    await h.run("insert", { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-06" });
    // A raw file with a missing time, as another tool might have left it.
    const raw = await h.object(REPO.raw, "2024/11/05/wt/Austin_wt_2024-11-05.csv");
    const lines = raw.split("\r\n");
    lines[2] = lines[2]!.replace("2024-11-05 00:00:00", "");
    await h.storage.put(REPO.raw, "2024/11/05/wt/Austin_wt_2024-11-05.csv", Buffer.from(lines.join("\r\n")));

    const std = await h.run("standard", { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-06" });
    expect(std).toMatchObject({ processed: 1, failed: 0, records: 6 });
    expect(std.rowsLeftOut![BAD_ROW_REASON]).toBe(2);
    const warns = h.logs.filter((l) => l.level === "warn").map((l) => l.message);
    expect(warns).toEqual([
      'Austin_wt_2024-11-05.csv row 2: field "curDateTime" is empty; row skipped',
      'Austin_wt_2024-11-05.csv row 4: field "volume" is "n/a", not an integer; row skipped',
    ]);
  });

  it("values outside the declared ranges are quarantined (file, line, field, value), not published; raw keeps them exactly", async () => {
    const h = harness({
      kits: (file) => {
        loadKitsFixture(file);
        const db = new Database(file);
        db.prepare("UPDATE SYSDETHISTORYRM SET VOLUME = 1e20 WHERE DETID = 401 AND CURDATETIME = '2024-11-05 00:00:00'").run();
        db.prepare("UPDATE SYSDETHISTORYRM SET VOLUME = -5 WHERE DETID = 102 AND CURDATETIME = '2024-11-05 10:07:00'").run();
        db.prepare("UPDATE SYSDETHISTORYRM SET DAILYCUMULATIVE = 9223372036854775807 WHERE DETID = 101 AND CURDATETIME = '2024-11-05 00:00:00'").run();
        db.close();
      },
    });
    const [ins, std, , soc] = await runAll(h, { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" });
    expect(ins).toMatchObject({ processed: 1, records: 8 });
    const raw = await h.object(REPO.raw, "2024/11/05/wt/Austin_wt_2024-11-05.csv");
    expect(raw).toContain(",1.0e+20,");
    expect(raw).toContain(",-5,");
    expect(raw).toContain(",9223372036854775807\r\n");
    expect(std).toMatchObject({ processed: 1, failed: 0, records: 5 });
    expect(std.rowsLeftOut).toMatchObject({ "quarantined: volume outside [0, 10000]": 2, "quarantined: dailyCumulative outside [0, 1e7]": 1 });
    const q = JSON.parse(await h.object(REPO.standardized, "2024/11/05/wt/Austin_wt_2024-11-05_csv.quarantine.json")) as { rows: { reason: string; file: string; line: number; field: string; value: unknown }[] };
    expect(q.rows.map((r) => [r.field, r.value, r.file])).toEqual([
      ["volume", "1.0e+20", "Austin_wt_2024-11-05.csv"],
      ["dailyCumulative", "9223372036854775807", "Austin_wt_2024-11-05.csv"],
      ["volume", "-5", "Austin_wt_2024-11-05.csv"],
    ]);
    expect(q.rows.every((r) => r.line > 1)).toBe(true);
    expect(soc).toMatchObject({ processed: 1, failed: 0 });
    const published = h.publisher.rows(DATASET);
    expect(published.some((r) => Number(r.volume) < 0 || Number(r.volume) > 10_000)).toBe(false);
    const obs = await h.perfmet.readObs({ from: 0, to: Number.MAX_SAFE_INTEGER, dataType: "Quarantined rows: volume outside [0, 10000]" });
    expect(obs.map((o) => o.data)).toEqual([2]);
  });

  it("a day whose readings have no detector row is written header-only with a warning", async () => {
    const h = harness({
      kits: (file) => {
        loadKitsFixture(file);
        const db = new Database(file);
        db.prepare("INSERT INTO SYSDETHISTORYRM (DETID, CURDATETIME, VOLUME) VALUES (777, '2024-11-09 08:00:00', 3)").run();
        db.close();
      },
    });
    const ins = await h.run("insert", { last_run_date: "0", start_date: "2024-11-09", end_date: "2024-11-09" });
    expect(ins).toMatchObject({ processed: 1, records: 0 });
    expect(await h.object(REPO.raw, "2024/11/09/wt/Austin_wt_2024-11-09.csv")).toBe("detID,intID,curDateTime,intName,detName,volume,occupancy,speed,status,uploadSuccess,detCountComparison,dailyCumulative\r\n");
    expect(h.logs.filter((l) => l.level === "warn").map((l) => l.message)).toEqual([
      "Austin_2024-11-09.csv: the day has readings but none of their DETIDs is in the detector table; wrote the header only",
    ]);
  });

  it("a raw file without the expected header fails its day with a clear message; other days go on", async () => {
    const h = harness();
    await h.run("insert", { last_run_date: "0", start_date: "2024-11-01" });
    await h.storage.put(REPO.raw, "2024/11/05/wt/Austin_wt_2024-11-05.csv", Buffer.from("hello,world\r\n1,2\r\n"));
    const std = await h.run("standard", { last_run_date: "0", start_date: "2024-11-01" });
    expect(std).toMatchObject({ processed: 2, failed: 1 });
    expect(std.failures[0]!.error).toMatch(/Austin_wt_2024-11-05\.csv: header line lacks column\(s\) detID/);
  });

  it("no unit data dated after the day: the ready day fails with a message saying what to run (B33)", async () => {
    const h = harness();
    await h.run("insert", { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" });
    await h.run("standard", { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" });
    const unit = [...h.catalog.rows.values()].filter((r) => r.id_ext === "unit_data.json");
    expect(unit).toHaveLength(1);
    await h.catalog.delete(unit);
    const rdy = await h.run("ready", { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" });
    expect(rdy).toMatchObject({ processed: 0, failed: 1 });
    expect(rdy.failures[0]!.error).toMatch(/No unit data dated after 2024-11-05 in atd-datalake-rawjson .*run the source's standardize stage/);
    expect(h.keys(REPO.ready)).toEqual([]);
  });

  it("without sources.wt.sql the ingest refuses to start with a configuration error", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lake-wt-cfg-"));
    const runtime = new LakeRuntime(validateConfig({ home: dir, storage: { driver: "memory" }, catalog: { driver: "memory" }, perfmet: { driver: "memory" } }, "t"), dir, {}, { clock: fixedClock("2024-11-20T10:00:00-06:00") });
    await expect(insertLake({ start_date: "3" }, { runtime })).rejects.toThrow(ConfigError);
    await expect(insertLake({ start_date: "3" }, { runtime })).rejects.toThrow(/sources\.wt\.sql is not set/);
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("speaks T-SQL to an mssql driver: schema KITS, @p parameters, the 25-hour day as a wall-clock window", async () => {
    const calls: { sql: string; params: unknown[] }[] = [];
    const reading = { detID: 101, intID: 1, intName: "LAMARMANCHACA", detName: "NB_in", volume: 4, occupancy: 1, speed: 30, status: "Working", uploadSuccess: 100, detCountComparison: 1 };
    const mssql: SqlDriver = {
      driverName: "stub-mssql (no server available: stubbed transport)",
      dialect: "mssql",
      async query<T>(sql: string, params: unknown[] = []) {
        calls.push({ sql, params });
        if (sql.includes("CHECKSUM_AGG")) return [{ day: "2024-11-03", n: 2, h: 12345 }] as T[];
        if (sql.includes("COUNT(1)")) return [{ day: "2024-11-03", n: 2 }] as T[];
        return [
          { ...reading, curDateTime: "2024-11-03 01:30:00", dailyCumulative: 4 },
          { ...reading, curDateTime: "2024-11-03 01:30:00", volume: 6, dailyCumulative: 10 },
        ] as T[];
      },
    };
    const h = harness({ sources: { sql: mssql } });
    const ins = await h.run("insert", { last_run_date: "0", start_date: "2024-11-03", end_date: "2024-11-03" });
    expect(ins).toMatchObject({ processed: 1, records: 2 });
    expect(calls.map((c) => c.params)).toEqual([
      ["2024-11-03 00:00:00", "2024-11-04 00:00:00"],
      ["2024-11-03 00:00:00", "2024-11-04 00:00:00"],
      ["2024-11-03 00:00:00", "2024-11-04 00:00:00"],
    ]);
    expect(calls[0]!.sql).toContain("FROM KITS.SYSDETHISTORYRM WHERE CURDATETIME >= CONVERT(datetime2, @p1, 120) AND CURDATETIME < CONVERT(datetime2, @p2, 120)");
    // The day's fingerprint: every field of every reading and its detector, hashed by the server.
    expect(calls[1]!.sql).toContain("CHECKSUM_AGG(CHECKSUM(a.DETID, b.INTID, b.INTNAME, b.DETNAME, a.CURDATETIME");
    expect(calls[1]!.sql).toContain("FROM KITS.SYSDETHISTORYRM a LEFT JOIN KITS.DETECTORSRM b ON a.DETID = b.DETID WHERE a.CURDATETIME >= CONVERT(datetime2, @p1, 120)");
    expect(calls[2]!.sql).toContain("FROM KITS.SYSDETHISTORYRM a INNER JOIN KITS.DETECTORSRM b ON a.DETID = b.DETID");
    const std = await h.run("standard", { last_run_date: "0", start_date: "2024-11-03", end_date: "2024-11-03" });
    expect(std.records).toBe(2);
    const json = JSON.parse(await h.object(REPO.standardized, "2024/11/03/wt/Austin_wt_2024-11-03.json")) as { data: { curDateTime: string }[] };
    expect(json.data.map((d) => d.curDateTime)).toEqual(["2024-11-03 01:30:00-05:00", "2024-11-03 01:30:00-06:00"]);
  });

  it("a table name that is not a plain identifier is a configuration error", async () => {
    const h = harness({ sources: { tables: { history: "SYSDETHISTORYRM; DROP TABLE x" } } });
    await expect(h.run("insert", { start_date: "3" })).rejects.toThrow(/sources\.wt\.tables\.history .* is not a plain table name/);
  });
});

describe("incrementality and publishing", () => {
  it("-s 7 with the clock at 2024-11-20 ingests the 7 days before today; a second run ingests none", async () => {
    const h = harness({ kits: demoKits("2024-11-01", "2024-11-22") });
    const first = await h.run("insert", ["-s", "7"]);
    expect(first).toMatchObject({ processed: 7, failed: 0 });
    expect(h.keys(REPO.raw).map((k) => k.slice(0, 10))).toEqual(["2024/11/13", "2024/11/14", "2024/11/15", "2024/11/16", "2024/11/17", "2024/11/18", "2024/11/19"]);
    const second = await h.run("insert", ["-s", "7"]);
    expect(second).toMatchObject({ processed: 0, skipped: 7, failed: 0 });
    expect(second.skipReasons["already done"]).toBe(7);
  });

  it("a rerun publishes nothing again; -F republishes the same row ids without duplicates", async () => {
    const h = harness();
    const window = { last_run_date: "0", start_date: "2024-11-01" };
    await runAll(h, window);
    const count = await h.publisher.countRows(DATASET);
    const ids = h.publisher.rows(DATASET).map((r) => r.row_id).sort();
    expect(count).toBe(9);
    const batches = h.publisher.batches.length;

    const again = await h.run("soc", window);
    expect(again).toMatchObject({ processed: 0, skipped: 3, records: 0 });
    expect(h.publisher.batches.length).toBe(batches);

    const forced = await h.run("soc", { ...window, force: true });
    expect(forced).toMatchObject({ processed: 3, records: 9 });
    expect(h.publisher.batches.length).toBe(batches + 3);
    expect(await h.publisher.countRows(DATASET)).toBe(count);
    expect(h.publisher.rows(DATASET).map((r) => r.row_id).sort()).toEqual(ids);
    expect(h.logs.some((l) => l.message.startsWith("Forcing processing of Austin/json for date 2024-11-05"))).toBe(true);
  });

  it("a refused upsert records no publication, so the next run publishes the day", async () => {
    const h = harness();
    const window = { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" };
    for (const s of ["insert", "standard", "ready"] as const) await h.run(s, window);
    const upsert = h.publisher.upsert;
    h.publisher.upsert = async () => {
      throw new TerminalError("refused by the target");
    };
    const failed = await h.run("soc", window);
    expect(failed).toMatchObject({ processed: 0, failed: 1 });
    expect(failed.failures[0]!.error).toBe("refused by the target");
    expect([...h.catalog.rows.values()].filter((r) => r.repository === REPO.public)).toEqual([]);
    h.publisher.upsert = upsert;
    const retried = await h.run("soc", window);
    expect(retried).toMatchObject({ processed: 1, failed: 0, records: 7 });
    expect([...h.catalog.rows.values()].filter((r) => r.repository === REPO.public).map((r) => r.pointer)).toEqual([DATASET]);
  });

  it("a ready row with an unreadable time fails its day, naming file, row and field", async () => {
    const h = harness();
    const window = { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" };
    for (const s of ["insert", "standard", "ready"] as const) await h.run(s, window);
    const key = "2024/11/05/wt/Austin_wt_2024-11-05.json";
    const ready = JSON.parse(await h.object(REPO.ready, key)) as { data: { curDateTime: string }[] };
    ready.data[2]!.curDateTime = "soon";
    await h.storage.put(REPO.ready, key, Buffer.from(JSON.stringify(ready)));
    const soc = await h.run("soc", window);
    expect(soc).toMatchObject({ processed: 0, failed: 1 });
    expect(soc.failures[0]!.error).toBe(
      `${REPO.ready}/${key} row 3: field "curDateTime": timestamp "soon" is not YYYY-MM-DD HH:MM:SS±HH:MM; rerun wt-json-standard and wt-ready for 2024-11-05 with -F`,
    );
    expect(await h.publisher.countRows(DATASET)).toBe(0);
  });

  it("publishes a large day in chunks of 10,000 rows", async () => {
    const h = harness({
      kits: (f) => createKitsDatabase(f, { zone: ZONE, from: "2024-11-12", to: "2024-11-13", intersections: manyIntersections(30, 4) }),
      devices: radarDevices(manyIntersections(30, 4)),
    });
    const [, , , soc] = await runAll(h, { last_run_date: "0", start_date: "2024-11-12", end_date: "2024-11-12" });
    expect(soc!.records).toBe(120 * 96);
    expect(h.publisher.batches.map((b) => b.rows)).toEqual([10_000, 1_520]);
  });

  it("--debug uses the test repositories and the test dataset, never production (B24)", async () => {
    const h = harness();
    await runAll(h, { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05", debug: true });
    expect(h.keys(REPO.raw)).toEqual([]);
    expect(h.keys(`${REPO.raw}-test`)).toEqual(["2024/11/05/wt/Austin_wt_2024-11-05.csv"]);
    expect(h.keys(`${REPO.ready}-test`)).toEqual(["2024/11/05/wt/Austin_wt_2024-11-05.json"]);
    expect(await h.publisher.countRows(DATASET)).toBe(0);
    expect(await h.publisher.countRows(`${DATASET}-test`)).toBe(7);
    expect([...h.catalog.rows.values()].filter((r) => r.repository === "socrata-test").map((r) => r.pointer)).toEqual([`${DATASET}-test`]);
  });

  it("simulation (-0) publishes nothing and records no publication; -o keeps a local copy of what would be sent", async () => {
    const h = harness();
    const window = { last_run_date: "0", start_date: "2024-11-05", end_date: "2024-11-05" };
    for (const s of ["insert", "standard", "ready"] as const) await h.run(s, window);
    const out = path.join(h.dir, "out");
    const sim = await h.run("soc", { ...window, simulate: true, output_filepath: out });
    expect(sim).toMatchObject({ processed: 1, records: 7, simulate: true });
    expect(sim.plan!.some((p) => p.kind === "publish" && p.target === DATASET)).toBe(true);
    expect(await h.publisher.countRows(DATASET)).toBe(0);
    expect([...h.catalog.rows.values()].filter((r) => r.repository === REPO.public)).toEqual([]);
    expect(readdirSync(out)).toEqual([`${DATASET}.csv`]);
    expect(readFileSync(path.join(out, `${DATASET}.csv`), "utf8").split("\r\n")[0]).toBe(
      "detid,int_id,curdatetime,intname,detname,volume,occupancy,speed,month,day,year,hour,minute,day_of_week,timebin,direction,row_id",
    );
  });
});

describe("pipeline", () => {
  it("declares the stages in order and the original's schedule", () => {
    expect(wtSource.stageNames).toEqual(["wt-insert-lake", "wt-json-standard", "wt-ready", "wt-extract-soc"]);
    expect(wtSource.schedule.map((s) => [s.stage, s.time, s.args.join(" ")])).toEqual([
      ["wt-insert-lake", "01:00", "-r 0 -s 60"],
      ["wt-json-standard", "03:30", "-r 0 -s 30"],
      ["wt-ready", "06:30", "-r 0 -s 30"],
      ["wt-extract-soc", "07:30", "-r 0 -s 30"],
    ]);
  });

  it("simulate() builds a deterministic KITS file and sets only the wt key of the shared inventory", async () => {
    const home = mkdtempSync(path.join(tmpdir(), "lake-wt-sim-"));
    try {
      const inventory = path.join(home, "sources", "inventory.json");
      await (await wtSource.loadDemo())!.simulate({ home, zone: ZONE, from: "2024-10-27", to: "2024-11-10" }).then(() => undefined);
      writeFileSync(inventory, JSON.stringify({ bt: [{ id: "bt-1" }], gs: [{ id: "gs-1" }], wt: [] }));
      const cfg = await (await wtSource.loadDemo())!.simulate({ home, zone: ZONE, from: "2024-10-27", to: "2024-11-10" });
      const file = path.join(home, "sources", "kits.sqlite");
      expect(cfg).toEqual({ sql: { driver: "sqlite", options: { path: file } } });
      const inv = JSON.parse(readFileSync(inventory, "utf8")) as Record<string, unknown[]>;
      expect(inv.bt).toEqual([{ id: "bt-1" }]);
      expect(inv.gs).toEqual([{ id: "gs-1" }]);
      expect(inv.wt!.map((d) => (d as { kits_id: number }).kits_id)).toEqual([1, 2, 3]);

      const db = new Database(file, { readonly: true });
      const perDay = db.prepare("SELECT date(CURDATETIME) AS day, COUNT(1) AS n, SUM(VOLUME) AS v FROM SYSDETHISTORYRM GROUP BY day ORDER BY day").all() as { day: string; n: number; v: number }[];
      db.close();
      expect(perDay).toHaveLength(14);
      expect(perDay.find((d) => d.day === "2024-11-03")!.n).toBe(11 * 100);
      expect(perDay.find((d) => d.day === "2024-11-04")!.n).toBe(11 * 96);

      // Same inputs, same readings.
      await (await wtSource.loadDemo())!.simulate({ home, zone: ZONE, from: "2024-10-27", to: "2024-11-10" });
      const db2 = new Database(file, { readonly: true });
      const again = db2.prepare("SELECT date(CURDATETIME) AS day, COUNT(1) AS n, SUM(VOLUME) AS v FROM SYSDETHISTORYRM GROUP BY day ORDER BY day").all();
      db2.close();
      expect(again).toEqual(perDay);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
