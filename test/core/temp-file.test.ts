/**
 * Temp files of killed writers (util/temp-file.ts): a write killed between its temp file and the rename leaves the
 * temp file; the next process that writes into, or lists, that folder removes it, while a live writer's temp file,
 * another host's and ordinary files stay. Local storage and the CSV publisher both clean up after a kill.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createCsvPublisher } from "../../src/drivers/publisher/csv.js";
import { LocalStorage } from "../../src/drivers/storage/local.js";
import { isAbandonedTemp, sweepTemps, tempPathFor, TEMP_PREFIX } from "../../src/util/temp-file.js";
import { tempDir } from "./helpers.js";

const CHILD = `
import { writeFileSync } from "node:fs";
import { tempPathFor } from "./src/util/temp-file.ts";
const tmp = tempPathFor(process.argv[1]);
writeFileSync(tmp, "half of an object");
process.stdout.write(tmp + "\\n");
`;

/** A temp file written by a process that then died (as a SIGKILL between write and rename leaves it). */
function abandonedTempFor(target: string): string {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD, target], { cwd: path.resolve(__dirname, "../.."), encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const tmp = r.stdout.trim();
  expect(existsSync(tmp)).toBe(true);
  return tmp;
}

describe("temp files of killed writers", () => {
  it("names tell a dead writer of this host from a live one and from another host", async () => {
    const dir = tempDir("lake-temp-");
    const dead = abandonedTempFor(path.join(dir, "a.json"));
    const mine = tempPathFor(path.join(dir, "b.json"));
    writeFileSync(mine, "being written");
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    const liveTemp = path.join(dir, path.basename(mine).replace(`-${process.pid}-`, `-${live.pid}-`));
    writeFileSync(liveTemp, "another live writer");
    const otherHost = path.join(dir, path.basename(dead).replace(/^\.lake-tmp-[0-9a-f]{8}-/, `${TEMP_PREFIX}00000000-`));
    writeFileSync(otherHost, "a writer on another host");
    writeFileSync(path.join(dir, "c.json"), "an object");
    try {
      expect(isAbandonedTemp(path.basename(dead))).toBe(true);
      expect(isAbandonedTemp(path.basename(mine))).toBe(false);
      expect(isAbandonedTemp(path.basename(liveTemp))).toBe(false);
      expect(isAbandonedTemp(path.basename(otherHost))).toBe(false);
      expect(sweepTemps(dir)).toEqual([dead]);
      expect(readdirSync(dir).sort()).toEqual([path.basename(mine), path.basename(liveTemp), path.basename(otherHost), "c.json"].sort());
    } finally {
      live.kill();
    }
  });

  it("local storage: the next write into the folder removes a killed write's temp file; listings never show one", async () => {
    const root = tempDir("lake-temp-storage-");
    const s = new LocalStorage(root);
    await s.put("raw", "2024/11/01/x.csv", Buffer.from("old"));
    const folder = path.join(root, "raw", "2024", "11", "01");
    const dead = abandonedTempFor(path.join(folder, "y.csv"));
    expect((await collect(s.list("raw", "2024/11/"))).map((o) => o.key)).toEqual(["2024/11/01/x.csv"]);
    expect(existsSync(dead)).toBe(false); // the listing removed it
    const dead2 = abandonedTempFor(path.join(folder, "z.csv"));
    await new LocalStorage(root).put("raw", "2024/11/01/y.csv", Buffer.from("new")); // a new process's first write there
    expect(existsSync(dead2)).toBe(false);
    expect(readdirSync(folder).sort()).toEqual(["x.csv", "y.csv"]);
  });

  it("CSV publisher: the next publish removes a killed rewrite's temp file", async () => {
    const dir = tempDir("lake-temp-pub-");
    mkdirSync(dir, { recursive: true });
    const dead = abandonedTempFor(path.join(dir, "counts.csv"));
    const p = createCsvPublisher(dir);
    await p.upsert("counts", [{ id: "1", n: 1 }], "id");
    expect(existsSync(dead)).toBe(false);
    expect(readdirSync(dir)).toEqual(["counts.csv"]);
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
