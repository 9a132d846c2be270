/**
 * The malformed-input corpus (issue 14, requirement 6/8): each case damages one input of a demo lake (a raw file, a
 * zone CSV in an archive, a site file, the inventory, the configuration, the file system) and runs the compiled CLI
 * on it. Each asserts the exit code, the message (naming the file, line, row or field and what to do) and that the
 * rest of the run was done (the other days, files or intersections of the window processed).
 *
 * One demo lake is built for the file (`lake demo`, about 30 s) and copied per case.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { unzipSync, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempDir } from "../core/helpers.js";

const LAKE = path.join(root, "bin/lake.js");
const RAW = "lake/atd-datalake-raw";
const STD = "lake/atd-datalake-rawjson";
const WT_RAW = `${RAW}/2024/11/02/wt/Austin_wt_2024-11-02.csv`;
const BT_RAW = (type: string) => `${RAW}/2024/11/02/bt/Austin_bt_2024-11-02_${type}.txt`;
const GS_ZIP = `${RAW}/2024/11/02/gs/Burnet_Richcreek_gs_2024-11-02.zip`;
const WINDOW = ["-s", "2024-11-01", "-e", "2024-11-04", "-F"];

let work: string;
let template: string;
let n = 0;

interface Result {
  code: number | null;
  out: string;
  summary?: { app: string; processed: number; skipped: number; failed: number; records: number };
  home: string;
}

function run(home: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAKE, ...args], {
      cwd: home,
      env: { ...process.env, LAKE_HOME: home, LAKE_CONFIG: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (out += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const m = /^(\S+): (\d+) items processed, (\d+) skipped, (\d+) failed; (\d+) rows/m.exec(out);
      resolve({ code, out, home, ...(m ? { summary: { app: m[1]!, processed: +m[2]!, skipped: +m[3]!, failed: +m[4]!, records: +m[5]! } } : {}) });
    });
  });
}

/** A fresh copy of the demo lake. */
function lakeCopy(): string {
  const home = path.join(work, `case-${++n}`);
  // Hard links for the lake's objects (a run writes new objects by rename, and damage() unlinks before it writes),
  // real copies of what is changed in place (the SQLite databases, the published datasets, the settings).
  const linked = spawnSync("cp", ["-al", template, home]);
  if (linked.status !== 0) cpSync(template, home, { recursive: true });
  else {
    for (const e of readdirSync(home)) {
      if (e === "lake" || e === "sources") continue;
      rmSync(path.join(home, e), { recursive: true, force: true });
      cpSync(path.join(template, e), path.join(home, e), { recursive: true });
    }
    for (const e of ["config.json", "inventory.json", "kits.sqlite"]) {
      rmSync(path.join(home, "sources", e), { force: true });
      cpSync(path.join(template, "sources", e), path.join(home, "sources", e));
    }
  }
  // The demo's source settings name its own folders: point them at the copy.
  const settings = path.join(home, "sources/config.json");
  replaceFile(settings, readFileSync(settings, "utf8").replaceAll(process.env.LAKE_CORPUS_TEMPLATE || template, home));
  return home;
}

const file = (home: string, rel: string) => path.join(home, rel);
const read = (home: string, rel: string) => readFileSync(file(home, rel));
/** Writes a new file in place of the old (unlinked first: the copy's objects are hard links to the template's). */
const write = (home: string, rel: string, data: string | Uint8Array) => replaceFile(file(home, rel), data);
function replaceFile(p: string, data: string | Uint8Array): void {
  rmSync(p, { force: true });
  writeFileSync(p, data);
}
const lines = (home: string, rel: string) => read(home, rel).toString("utf8").split("\r\n");

/** Replaces data line `i` (1 = the first line after the header for WT; 0-based for headerless) via `fix`. */
function editLine(home: string, rel: string, i: number, fix: (line: string) => string | Buffer): void {
  const all = read(home, rel).toString("latin1").split("\r\n");
  const fixed = fix(Buffer.from(all[i]!, "latin1").toString("utf8"));
  all[i] = typeof fixed === "string" ? Buffer.from(fixed, "utf8").toString("latin1") : fixed.toString("latin1");
  write(home, rel, Buffer.from(all.join("\r\n"), "latin1"));
}

/** The quarantine object of a day in standardized, or undefined. */
function quarantine(home: string, rel: string): { rows: { reason: string; file?: string; line?: number; field?: string; value?: unknown }[] } | undefined {
  const p = file(home, rel);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as never) : undefined;
}

// ------------------------------------------------------------------------------------------------ WT raw CSV

const WT_Q = `${STD}/2024/11/02/wt/Austin_wt_2024-11-02_csv.quarantine.json`;
const wtField = (line: string, col: number, value: string) => line.split(",").map((v, i) => (i === col ? value : v)).join(",");
const INVALID = Buffer.from([0xc3, 0x28, 0xff]);

interface Case {
  name: string;
  stage: string;
  damage(home: string): void;
  code: number;
  message: RegExp[];
  /** The summary: what was still done. */
  done?: Partial<NonNullable<Result["summary"]>>;
  check?(r: Result): void;
  args?: string[];
  /** The command before args (default: run <stage>). */
  command?: string[];
  env?: (home: string) => Record<string, string>;
}

const wtQuarantined = (field: string, reason: RegExp) => (r: Result) => {
  const q = quarantine(r.home, WT_Q)!;
  expect(q.rows).toHaveLength(1);
  expect(q.rows[0]).toMatchObject({ field, file: "Austin_wt_2024-11-02.csv", line: 3 });
  expect(q.rows[0]!.reason).toMatch(reason);
};

const wtCases: Case[] = [
  {
    name: "wt: a truncated file (last line cut mid-row)",
    stage: "wt-json-standard",
    damage: (h) => write(h, WT_RAW, read(h, WT_RAW).subarray(0, read(h, WT_RAW).length - 30)),
    code: 0,
    message: [/Austin_wt_2024-11-02\.csv row \d+: \d+ fields where the header has 12; row skipped/],
    done: { processed: 3, failed: 0 },
  },
  {
    name: "wt: an empty file",
    stage: "wt-json-standard",
    damage: (h) => write(h, WT_RAW, ""),
    code: 1,
    message: [/Austin_wt_2024-11-02\.csv: the file is empty \(no header line\); expected detID,intID/],
    done: { processed: 2, failed: 1 },
  },
  {
    name: "wt: a header-only file is a day without readings",
    stage: "wt-json-standard",
    damage: (h) => write(h, WT_RAW, `${lines(h, WT_RAW)[0]}\r\n`),
    code: 0,
    message: [/Austin_wt_2024-11-02\.csv: atd-datalake-raw -> atd-datalake-rawjson: 0 rows/],
    done: { processed: 3, failed: 0 },
  },
  {
    name: "wt: wrong columns in the header",
    stage: "wt-json-standard",
    damage: (h) => editLine(h, WT_RAW, 0, (l) => l.replace("volume", "vol").replace("speed", "spd")),
    code: 1,
    message: [/Austin_wt_2024-11-02\.csv: header line lacks column\(s\) volume, speed; expected/],
    done: { processed: 2, failed: 1 },
  },
  {
    name: "wt: wrong delimiter (semicolons)",
    stage: "wt-json-standard",
    damage: (h) => write(h, WT_RAW, read(h, WT_RAW).toString("utf8").replaceAll(",", ";")),
    code: 1,
    message: [/Austin_wt_2024-11-02\.csv: header line lacks column\(s\) detID, intID/],
    done: { processed: 2, failed: 1 },
  },
  {
    name: "wt: a UTF-8 BOM before the header",
    stage: "wt-json-standard",
    damage: (h) => write(h, WT_RAW, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), read(h, WT_RAW)])),
    code: 0,
    message: [/Austin_wt_2024-11-02\.csv: atd-datalake-raw -> atd-datalake-rawjson: 1056 rows/],
    done: { processed: 3, failed: 0 },
  },
  {
    name: "wt: CRLF and LF line ends mixed",
    stage: "wt-json-standard",
    damage: (h) => write(h, WT_RAW, read(h, WT_RAW).toString("utf8").split("\r\n").map((l, i) => (i % 2 ? `${l}\n` : `${l}\r\n`)).join("")),
    code: 0,
    message: [/Austin_wt_2024-11-02\.csv: atd-datalake-raw -> atd-datalake-rawjson: 1056 rows/],
    done: { processed: 3, failed: 0 },
  },
  {
    name: "wt: a binary file",
    stage: "wt-json-standard",
    damage: (h) => write(h, WT_RAW, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256))),
    code: 1,
    message: [/Austin_wt_2024-11-02\.csv: (header line lacks|the file is empty)/, /left out \d+ rows?: quarantined: invalid UTF-8/],
    done: { processed: 2, failed: 1 },
  },
  {
    name: "wt: invalid UTF-8 in one row",
    stage: "wt-json-standard",
    damage: (h) => editLine(h, WT_RAW, 2, (l) => Buffer.concat([Buffer.from(l.slice(0, 20)), INVALID, Buffer.from(l.slice(20))])),
    code: 0,
    message: [/1 row\(s\) quarantined \(1 invalid UTF-8\) -> Austin_wt_2024-11-02_csv\.quarantine\.json/],
    done: { processed: 3, failed: 0, records: 3211 },
    check: (r) => expect(quarantine(r.home, WT_Q)!.rows[0]).toMatchObject({ reason: "invalid UTF-8", line: 3, file: "Austin_wt_2024-11-02.csv" }),
  },
  {
    name: "wt: an over-long line (2 MiB)",
    stage: "wt-json-standard",
    damage: (h) => editLine(h, WT_RAW, 2, (l) => l + "x".repeat(2 * 1024 * 1024)),
    code: 0,
    message: [/quarantined \(1 line longer than 1048576 bytes\)/],
    done: { processed: 3, failed: 0, records: 3211 },
    check: (r) => {
      const row = quarantine(r.home, WT_Q)!.rows[0]!;
      expect(row).toMatchObject({ line: 3, file: "Austin_wt_2024-11-02.csv" });
      expect(row.value).toBeGreaterThan(2 * 1024 * 1024);
    },
  },
  ...(
    [
      ["a negative volume", 5, "-5", "volume", /volume outside \[0, 10000\]/],
      ["a volume of 1e20", 5, "100000000000000000000", "volume", /volume outside \[0, 10000\]/],
      ["a decimal volume", 5, "12.5", "volume", /volume not an exact integer/],
      ["an occupancy of 101 %", 6, "101", "occupancy", /occupancy outside \[0, 100\]/],
      ["a speed of 999 mph", 7, "999", "speed", /speed outside \[0, 250\]/],
      ["a detID beyond 2^53", 0, "9223372036854775807", "detID", /detID not an exact integer/],
      ["a negative dailyCumulative", 11, "-1", "dailyCumulative", /dailyCumulative outside \[0, 1e7\]/],
      ["a reading dated outside the file's day", 2, "2023-06-01 10:00:00", "curDateTime", /curDateTime outside the file's day/],
    ] as const
  ).map(
    ([what, col, value, field, reason]): Case => ({
      name: `wt: ${what} is quarantined, not published`,
      stage: "wt-json-standard",
      damage: (h) => editLine(h, WT_RAW, 2, (l) => wtField(l, col, value)),
      code: 0,
      message: [new RegExp(`1 row\\(s\\) quarantined \\(1 ${reason.source}\\)`)],
      done: { processed: 3, failed: 0, records: 3211 },
      check: wtQuarantined(field, reason),
    }),
  ),
  {
    name: "wt: a garbage curDateTime is an unreadable row named by row and field",
    stage: "wt-json-standard",
    damage: (h) => editLine(h, WT_RAW, 2, (l) => wtField(l, 2, "yesterday-ish")),
    code: 0,
    message: [/Austin_wt_2024-11-02\.csv row 2: field "curDateTime" is "yesterday-ish", not a local time YYYY-MM-DD HH:MM:SS; row skipped/],
    done: { processed: 3, failed: 0, records: 3211 },
  },
  {
    name: "wt: a non-numeric volume is an unreadable row",
    stage: "wt-json-standard",
    damage: (h) => editLine(h, WT_RAW, 2, (l) => wtField(l, 5, "n/a")),
    code: 0,
    message: [/row 2: field "volume" is "n\/a", not an integer; row skipped/],
    done: { processed: 3, failed: 0, records: 3211 },
  },
  {
    name: "wt: a row with an extra column",
    stage: "wt-json-standard",
    damage: (h) => editLine(h, WT_RAW, 2, (l) => `${l},surplus`),
    code: 0,
    message: [/row 2: 13 fields where the header has 12; row skipped/],
    done: { processed: 3, failed: 0, records: 3211 },
  },
  {
    name: "wt: a quoted name with a comma is read as one field",
    stage: "wt-json-standard",
    damage: (h) => editLine(h, WT_RAW, 2, (l) => wtField(l, 3, '"LAMAR, MANCHACA"')),
    code: 0,
    message: [/Austin_wt_2024-11-02\.csv: atd-datalake-raw -> atd-datalake-rawjson: 1056 rows/],
    done: { processed: 3, failed: 0, records: 3212 },
  },
  {
    name: "wt: the KITS database file is missing",
    stage: "wt-insert-lake",
    damage: (h) => rmSync(file(h, "sources/kits.sqlite")),
    code: 2,
    message: [/sql driver sqlite: database file .*kits\.sqlite does not exist/],
  },
];

// ------------------------------------------------------------------------------------------------ BT raw files

const btQ = (type: string) => `${STD}/2024/11/02/bt/Austin_bt_2024-11-02_${type}.txt.quarantine.json`;
/** bt-json-standard over three days: nine files. */
const BT_ALL = 9;
const btCases: Case[] = [
  {
    name: "bt: unmatched rows dated 2023 in the 2024-11-02 file are quarantined",
    stage: "bt-json-standard",
    damage: (h) => editLine(h, BT_RAW("unmatched"), 1, (l) => l.replaceAll(/\d+\/\d+\/2024/g, "6/1/2023")),
    code: 0,
    message: [/1 row\(s\) quarantined \(1 host_timestamp outside the file's day \(±24 h\)\)/],
    done: { processed: BT_ALL, failed: 0 },
    check: (r) => expect(quarantine(r.home, btQ("unmatched"))!.rows[0]).toMatchObject({ line: 2, field: "host_timestamp", value: expect.stringMatching(/^2023-06-01/) }),
  },
  {
    name: "bt: a matched trip dated 2023 is quarantined",
    stage: "bt-json-standard",
    damage: (h) => editLine(h, BT_RAW("matched"), 0, (l) => l.replaceAll(/\d+\/\d+\/2024/g, "6/1/2023")),
    code: 0,
    message: [/quarantined \(1 start_time outside the file's day \(±24 h\)\)/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: a negative travel time is quarantined",
    stage: "bt-json-standard",
    damage: (h) => editLine(h, BT_RAW("matched"), 0, (l) => l.split(",").map((v, i) => (i === 5 ? "-30" : v)).join(",")),
    code: 0,
    message: [/quarantined \(1 travel_time_secs outside \[0, ∞\]\)/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: a summary speed of 5000 mph is quarantined",
    stage: "bt-json-standard",
    damage: (h) => editLine(h, BT_RAW("traf_match_summary"), 0, (l) => l.split(",").map((v, i) => (i === 11 ? "5000" : v)).join(",")),
    code: 0,
    message: [/quarantined \(1 avg_speed outside \[-1, 1000\]\)/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: invalid UTF-8 in an unmatched line",
    stage: "bt-json-standard",
    damage: (h) => editLine(h, BT_RAW("unmatched"), 3, (l) => Buffer.concat([Buffer.from(l), INVALID])),
    code: 0,
    message: [/quarantined \(1 invalid UTF-8\)/],
    done: { processed: BT_ALL, failed: 0 },
    check: (r) => expect(quarantine(r.home, btQ("unmatched"))!.rows[0]).toMatchObject({ reason: "invalid UTF-8", line: 4, file: expect.stringContaining("Austin_bt_2024-11-02_unmatched.txt") }),
  },
  {
    name: "bt: an over-long unmatched line (3 MiB)",
    stage: "bt-json-standard",
    damage: (h) => editLine(h, BT_RAW("unmatched"), 3, (l) => l + "y".repeat(3 * 1024 * 1024)),
    code: 0,
    message: [/quarantined \(1 line longer than 1048576 bytes\)/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: a truncated file (last line cut short)",
    stage: "bt-json-standard",
    damage: (h) => write(h, BT_RAW("matched"), read(h, BT_RAW("matched")).subarray(0, read(h, BT_RAW("matched")).length - 25)),
    code: 0,
    message: [/Austin_bt_2024-11-02_matched\.txt line \d+: \d+ values, expected 9 .*line cut short; row dropped/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: tabs instead of commas",
    stage: "bt-json-standard",
    damage: (h) => write(h, BT_RAW("unmatched"), read(h, BT_RAW("unmatched")).toString("utf8").replaceAll(",", "\t")),
    code: 0,
    message: [/Austin_bt_2024-11-02_unmatched\.txt line 1: 1 values, expected 5/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: an unclosed quote",
    stage: "bt-json-standard",
    damage: (h) => editLine(h, BT_RAW("unmatched"), 2, (l) => `"${l}`),
    code: 0,
    message: [/Austin_bt_2024-11-02_unmatched\.txt line 3: .*(quoted value is not closed|not readable as CSV)/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: CRLF and LF mixed",
    stage: "bt-json-standard",
    damage: (h) => write(h, BT_RAW("unmatched"), read(h, BT_RAW("unmatched")).toString("utf8").split("\r\n").map((l, i) => (i % 2 ? `${l}\n` : `${l}\r\n`)).join("")),
    code: 0,
    message: [/bt-json-standard: 9 items processed, 0 skipped, 0 failed/],
    done: { processed: BT_ALL, failed: 0 },
    check: (r) => expect(r.out).not.toMatch(/line \d+:/),
  },
  {
    name: "bt: an empty file is a day without rows",
    stage: "bt-json-standard",
    damage: (h) => write(h, BT_RAW("traf_match_summary"), ""),
    code: 0,
    message: [/bt-json-standard: 9 items processed/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: a binary file: its lines quarantined or dropped with their line numbers",
    stage: "bt-json-standard",
    damage: (h) => write(h, BT_RAW("unmatched"), Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 197 + 3) % 256))),
    code: 0,
    message: [/quarantined \(\d+ invalid UTF-8\)/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: a garbage timestamp is written null and reported by line",
    stage: "bt-json-standard",
    damage: (h) => editLine(h, BT_RAW("unmatched"), 1, (l) => l.replace(/^[^,]*/, "soon")),
    code: 0,
    message: [/Austin_bt_2024-11-02_unmatched\.txt line 2: host_timestamp "soon" is not a time/],
    done: { processed: BT_ALL, failed: 0 },
  },
  {
    name: "bt: the AWAM share folder is missing",
    stage: "bt-insert-lake",
    damage: (h) => rmSync(file(h, "sources/awam"), { recursive: true }),
    code: 2,
    message: [/awam/],
  },
];

// ------------------------------------------------------------------------------------------------ GS archives

/** gs-json-standard over three days: three intersections a day. */
const GS_ALL = 9;
function zoneEdit(home: string, edit: (csv: string, name: string) => string | Uint8Array): void {
  const files = unzipSync(read(home, GS_ZIP));
  const names = Object.keys(files).filter((k) => k.endsWith(".csv"));
  for (const [i, k] of names.entries()) {
    const out = edit(Buffer.from(files[k]!).toString("latin1"), i === 0 ? "first" : k);
    files[k] = typeof out === "string" ? new Uint8Array(Buffer.from(out, "latin1")) : new Uint8Array(out);
  }
  write(home, GS_ZIP, zipSync(files));
}
const firstZone = (fix: (csv: string) => string | Uint8Array) => (h: string) => zoneEdit(h, (csv, name) => (name === "first" ? fix(csv) : csv));
const gsField = (csv: string, col: number, value: string) => {
  const rows = csv.split("\r\n");
  rows[0] = rows[0]!.split(",").map((v, i) => (i === col ? value : v)).join(",");
  return rows.join("\r\n");
};
const gsDamaged = (name: string, damage: (h: string) => void, message: RegExp): Case => ({
  name: `gs: ${name}`,
  stage: "gs-json-standard",
  damage,
  code: 1,
  message: [message, /Burnet_Richcreek_gs_2024-11-02\.zip/],
  done: { processed: GS_ALL - 1, failed: 1 },
});
const gsCases: Case[] = [
  gsDamaged("a damaged archive (cut in half)", (h) => write(h, GS_ZIP, read(h, GS_ZIP).subarray(0, read(h, GS_ZIP).length >> 1)), /zip|archive/i),
  gsDamaged("not an archive at all", (h) => write(h, GS_ZIP, "this is not a zip\n"), /zip|archive/i),
  gsDamaged("an entry escaping the folder (zip-slip)", (h) => write(h, GS_ZIP, zipSync({ "../../evil/00-30-53-26-e6-e1.csv": Buffer.from("8,1\r\n") })), /\.\./),
  gsDamaged(
    "a zip bomb (a highly compressed entry)",
    (h) => write(h, GS_ZIP, zipSync({ "00-30-53-26-e6-e1/2024-11-02/4e69bf44-4d05-4330-a7a4-54beff7c6cbc.csv": [Buffer.alloc(64 * 1024 * 1024, 0x30), { level: 9 }] })),
    /ratio|bomb|compress/i,
  ),
  gsDamaged("an unknown count format version", (h) => zoneEdit(h, (csv) => csv.replace(/^8,/gm, "9,")), /count format version "9"; only versions 4, 7 and 8 are supported/),
  gsDamaged("every zone file empty", (h) => zoneEdit(h, () => ""), /every zone file is empty/),
  gsDamaged("a zone row with too many fields", firstZone((csv) => csv.replace("\r\n", ",1,2,3\r\n")), /line 1 has 17 fields, the v8 format has 14/),
  gsDamaged("no camera folder (wrong layout)", (h) => write(h, GS_ZIP, zipSync({ "counts/whatever.csv": Buffer.from("8,1\r\n") })), /MAC|folder|director/i),
  {
    name: "gs: a negative vehicle speed is quarantined, the intersection standardized",
    stage: "gs-json-standard",
    damage: firstZone((csv) => gsField(csv, 6, "-12")),
    code: 0,
    message: [/Burnet_Richcreek.*1 row\(s\) quarantined \(1 speed outside \[0, 300\]\)/],
    done: { processed: GS_ALL, failed: 0 },
    check: (r) =>
      expect(quarantine(r.home, `${STD}/2024/11/02/gs/Burnet_Richcreek_gs_2024-11-02_zip.quarantine.json`)!.rows[0]).toMatchObject({
        field: "speed",
        value: -12,
        line: 1,
        file: expect.stringMatching(/Burnet_Richcreek_gs_2024-11-02\.zip:00-30-53-26-e6-e1\/2024-11-02\/.*\.csv$/),
      }),
  },
  {
    name: "gs: a vehicle 1e20 ft long is quarantined",
    stage: "gs-json-standard",
    damage: firstZone((csv) => gsField(csv, 5, "1e20")),
    code: 0,
    message: [/quarantined \(1 vehicle_length outside \[0, 500\]\)/],
    done: { processed: GS_ALL, failed: 0 },
  },
  {
    name: "gs: invalid UTF-8 in a zone file",
    stage: "gs-json-standard",
    damage: firstZone((csv) => Buffer.concat([Buffer.from(csv, "latin1"), INVALID, Buffer.from("\r\n")])),
    code: 0,
    message: [/quarantined \(\d invalid UTF-8\)/],
    done: { processed: GS_ALL, failed: 0 },
  },
  {
    name: "gs: a site file that is not JSON fails its intersection's days",
    stage: "gs-json-standard",
    damage: (h) => {
      const dir = file(h, `${RAW}`);
      const site = findFile(dir, /Burnet_Richcreek_gs_\d{4}-\d{2}-\d{2}_site\.json$/);
      replaceFile(site, "{ not json");
    },
    code: 1,
    message: [/Burnet_Richcreek_gs_\d{4}-\d{2}-\d{2}_site\.json: the site file is not JSON/],
    done: { processed: GS_ALL - 3, failed: 3 },
  },
  {
    name: "gs: a garbage device datetime.json in the site file fails the day for retry (rows not dropped)",
    stage: "gs-json-standard",
    damage: (h) => {
      const site = findFile(file(h, RAW), /Burnet_Richcreek_gs_\d{4}-\d{2}-\d{2}_site\.json$/);
      const json = JSON.parse(readFileSync(site, "utf8")) as { datetime: Record<string, unknown> };
      json.datetime = { DateTime: "garbage", TimeZoneId: "??", HostTimeUTC: "later" };
      replaceFile(site, JSON.stringify(json));
    },
    code: 1,
    message: [/clock|DateTime|datetime/i],
    done: { processed: GS_ALL - 3, failed: 3 },
  },
];

function findFile(dir: string, re: RegExp): string {
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (e.isFile() && re.test(p)) return p;
  }
  throw new Error(`no file matching ${re} under ${dir}`);
}

// ------------------------------------------------------------------------------------------------ config, inventory, file system

const configCases: Case[] = [
  {
    name: "config: not valid JSON",
    stage: "wt-json-standard",
    damage: (h) => write(h, "bad.json", '{"home": '),
    env: (h) => ({ LAKE_CONFIG: file(h, "bad.json") }),
    code: 2,
    message: [/bad\.json/],
  },
  {
    name: "config: a wrong type for a key",
    stage: "wt-json-standard",
    damage: (h) => write(h, "bad.json", JSON.stringify({ home: h, failTerminalAfter: "often" })),
    env: (h) => ({ LAKE_CONFIG: file(h, "bad.json") }),
    code: 2,
    message: [/failTerminalAfter/],
  },
  {
    name: "config: maxLineBytes below 1",
    stage: "wt-json-standard",
    damage: (h) => write(h, "bad.json", JSON.stringify({ home: h, maxLineBytes: 0 })),
    env: (h) => ({ LAKE_CONFIG: file(h, "bad.json") }),
    code: 2,
    message: [/maxLineBytes/],
  },
  {
    name: "config: a smaller maxLineBytes quarantines longer lines",
    stage: "wt-json-standard",
    damage: (h) => {
      const cfg = JSON.parse(readFileSync(file(h, "sources/config.json"), "utf8")) as Record<string, unknown>;
      write(h, "small.json", JSON.stringify({ home: h, maxLineBytes: 200, sources: cfg }));
      editLine(h, WT_RAW, 2, (l) => `${l}${" ".repeat(250)}`);
    },
    env: (h) => ({ LAKE_CONFIG: file(h, "small.json") }),
    code: 0,
    message: [/quarantined \(1 line longer than 200 bytes\)/],
    done: { processed: 3, failed: 0, records: 3211 },
  },
  {
    name: "inventory: not JSON fails the days that need devices, naming the file and what to do (exit 1, not 2)",
    stage: "wt-json-standard",
    damage: (h) => write(h, "sources/inventory.json", "[{"),
    code: 1,
    message: [/FAILED Austin\/csv\/2024-11-01: unit data: inventory file .*sources\/inventory\.json is not valid JSON \(.*\); fix the file \(or restore it\) and rerun/],
    done: { processed: 0, failed: 3 },
  },
  {
    name: "inventory: the wrong shape (a list, not sections per source)",
    stage: "wt-json-standard",
    damage: (h) => write(h, "sources/inventory.json", "[1, 2, 3]"),
    code: 1,
    message: [/FAILED .*unit data: inventory file .*sources\/inventory\.json must hold an object .*; fix the file/],
    done: { processed: 0, failed: 3 },
  },
  {
    name: "inventory: damaged under `lake pipeline all`: the sources that need devices fail, every other source runs",
    stage: "all",
    command: ["pipeline", "all"],
    args: ["-s", "2024-11-01", "-e", "2024-11-02", "-F"],
    damage: (h) => write(h, "sources/inventory.json", "[{"),
    code: 1,
    message: [/FAILED Austin\/csv\/2024-11-01: unit data: inventory file .*sources\/inventory\.json is not valid JSON/, /gs-insert-lake +ERROR: unit data: inventory file .*is not valid JSON/],
    check: (r) => {
      const table = new Map([...r.out.matchAll(/^([a-z]+(?:-[a-z]+)+) +(\d+) +(\d+) +(\d+) +(\d+) +[\d.]+$/gm)].map((m) => [m[1]!, { processed: +m[2]!, failed: +m[4]! }]));
      expect(table.get("wt-json-standard"), r.out).toEqual({ processed: 0, failed: 1 });
      expect(table.get("bt-json-standard")).toEqual({ processed: 0, failed: 3 });
      // No device needed: done as on a clean run.
      for (const stage of ["wt-insert-lake", "bt-insert-lake", "gs-json-standard", "counters-publish", "oeem-parse", "usage-load"]) {
        expect(table.get(stage)?.processed, stage).toBeGreaterThan(0);
      }
      expect(r.out).not.toMatch(/^error:/m);
    },
  },
  {
    name: "file system: --plan to a path under a file",
    stage: "wt-extract-soc",
    damage: (h) => write(h, "a-file", "x"),
    args: ["-s", "2024-11-01", "-e", "2024-11-02", "-F", "-0", "--plan", "a-file/plan.json"],
    code: 2,
    message: [/--plan: cannot open .*a-file\/plan\.json \(ENOTDIR: not a directory\); a part of the path is a file, not a folder/],
    check: (r) => expect(r.out).not.toMatch(/\n\s+at /),
  },
  {
    name: "file system: --plan under /proc (a recursive mkdir would spin)",
    stage: "wt-extract-soc",
    damage: () => {},
    args: ["-s", "2024-11-01", "-e", "2024-11-02", "-F", "-0", "--plan", "/proc/lake-nope/plan.json"],
    code: 2,
    message: [/--plan: cannot mkdir \/proc\/lake-nope/],
    check: (r) => expect(r.out).not.toMatch(/\n\s+at /),
  },
];

const chattr = spawnSync("chattr", ["--help"]).error === undefined && process.getuid?.() === 0;
if (chattr) {
  configCases.push({
    name: "file system: a read-only (immutable) lake home",
    stage: "wt-json-standard",
    damage: (h) => {
      rmSync(file(h, "catalog.sqlite-wal"), { force: true });
      rmSync(file(h, "catalog.sqlite-shm"), { force: true });
      spawnSync("chattr", ["+i", h]);
    },
    code: 2,
    message: [/cannot open the SQLite database .*\.sqlite/],
    check: (r) => {
      spawnSync("chattr", ["-i", r.home]);
      expect(r.out).not.toMatch(/\n\s+at /);
    },
  });
}

const ALL = [...wtCases, ...btCases, ...gsCases, ...configCases];

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("lake-corpus-");
  template = path.join(work, "template");
  // LAKE_CORPUS_TEMPLATE: an already-built demo lake (while working on the corpus); else one is built here.
  if (process.env.LAKE_CORPUS_TEMPLATE) {
    cpSync(process.env.LAKE_CORPUS_TEMPLATE, template, { recursive: true });
  } else {
    const demo = spawnSync(process.execPath, [LAKE, "demo", "--dir", template, "--json"], { cwd: work, encoding: "utf8" });
    expect(demo.status, demo.stderr).toBe(0);
  }
  templatePrint = fingerprint(path.join(template, "lake"));
}, 600_000);

/** The template's objects (path, size, mtime): the hard-linked copies must leave them as they were. */
function fingerprint(dir: string): string {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    const st = statSync(p);
    out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
  }
  return out.sort().join("\n");
}
let templatePrint = "";

afterAll(() => {
  if (template && templatePrint) expect(fingerprint(path.join(template, "lake"))).toBe(templatePrint);
  if (work) {
    spawnSync("chattr", ["-R", "-i", work]);
    rmSync(work, { recursive: true, force: true });
  }
});

describe("the malformed-input corpus", () => {
  it("has at least 50 cases", () => {
    expect(ALL.length + 1).toBeGreaterThanOrEqual(50);
  });

  it.concurrent.each(ALL.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const home = lakeCopy();
    c.damage(home);
    const r = await run(home, [...(c.command ?? ["run", c.stage]), ...(c.args ?? WINDOW)], c.env?.(home));
    try {
      expect(r.code, r.out).toBe(c.code);
      for (const m of c.message) expect(r.out).toMatch(m);
      if (c.done) expect(r.summary, r.out).toMatchObject(c.done);
      c.check?.(r);
    } finally {
      spawnSync("chattr", ["-i", home]);
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);

  it("lake enqueue with an unreachable Redis ends with a clear error after its timeout", async () => {
    const home = lakeCopy();
    write(home, "q.json", JSON.stringify({ home, queue: { driver: "bullmq", options: { url: "redis://127.0.0.1:1" } } }));
    const t0 = Date.now();
    const r = await run(home, ["enqueue", "wt", "--time-min", "2024-11-01", "--time-max", "2024-11-02"], { LAKE_CONFIG: file(home, "q.json") });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Redis 127\.0\.0\.1:1\): no answer within \d+ ms/);
    expect(Date.now() - t0).toBeLessThan(60_000);
    rmSync(home, { recursive: true, force: true });
  }, 120_000);
});
