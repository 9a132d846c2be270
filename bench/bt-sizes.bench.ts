/**
 * Memory of a Bluetooth day by size (issue 19): one unmatched file of about 10 MiB, 100 MiB and 1 GiB (the
 * simulator's lines, BENCH_BT_SIZES=10,100,1024 in MiB), each in a fresh lake home on the embedded default, through
 * bt-insert-lake and bt-json-standard as their own `lake run` processes of the compiled CLI; prints each process's
 * peak RSS (its own rusage at exit), wall and CPU seconds. Both stages stream, so their peak stays flat whatever the
 * size. bt-ready (it sorts the day, so it holds the day's rows) and bt-extract-soc run too up to BENCH_BT_HELD_MAX
 * MiB (default 100), to show what grows with the day.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureBuilt, root } from "../test/helpers/build.js";
import { DateTime } from "luxon";
import { bluetoothDevices, manyReaders, writeShare } from "../src/sources/bt/simulate.js";
import { shareFilename } from "../src/sources/bt/files.js";
import { writeInventorySection } from "../src/util/inventory-file.js";
import { runMeasured, type ProcessSample } from "./day/harness.js";
import { fmt } from "./measure.js";

const DAY = "2024-11-13";
/** Bytes of one simulated unmatched line, about. */
const LINE_BYTES = 88;

export async function run(): Promise<void> {
  await ensureBuilt();
  const sizes = (process.env.BENCH_BT_SIZES ?? "10,100,1024").split(",").map(Number);
  const heldMax = Number(process.env.BENCH_BT_HELD_MAX ?? 100);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-bt-sizes-"));
  const lake = path.join(root, "bin/lake.js");
  console.log(`${"unmatched file".padEnd(16)} ${"stage".padEnd(18)} ${"wall s".padStart(7)} ${"CPU s".padStart(6)} ${"RSS MiB".padStart(8)}`);
  try {
    for (const mib of sizes) {
      const home = path.join(tmp, `home-${mib}`);
      const share = path.join(home, "sources", "awam");
      mkdirSync(share, { recursive: true });
      const readers = manyReaders(7);
      const unmatched = Math.round((mib * 2 ** 20) / LINE_BYTES);
      await writeShare(share, "America/Chicago", DAY, "2024-11-14", { unmatched, matched: 1_000, intervals: 4, devices: 60_000, summaryPairs: 4 }, readers);
      writeInventorySection(path.join(home, "sources", "inventory.json"), "bt", bluetoothDevices(readers, "none"));
      writeFileSync(path.join(home, "sources", "config.json"), JSON.stringify({ bt: { sourcedir: share } }));
      const file = shareFilename("unmatched", DateTime.fromISO(DAY, { zone: "America/Chicago" }));
      const size = `${fmt(statSync(path.join(share, file)).size / 2 ** 20, 0)} MiB`;
      const stages = ["bt-insert-lake", "bt-json-standard", ...(mib <= heldMax ? ["bt-ready", "bt-extract-soc"] : [])];
      for (const stage of stages) {
        const s: ProcessSample = await runMeasured(stage, [lake, "run", stage, "-s", DAY, "-e", DAY], { ...process.env, LAKE_HOME: home, NO_COLOR: "1" }, home);
        if (s.code !== 0) throw new Error(`${stage} (${size}) exited ${s.code}: ${s.stderr.slice(-1000)}`);
        console.log(`${size.padEnd(16)} ${stage.padEnd(18)} ${fmt(s.wall, 2).padStart(7)} ${fmt(s.cpu, 2).padStart(6)} ${fmt(s.rssMiB, 0).padStart(8)}`);
      }
      rmSync(home, { recursive: true, force: true });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
