/**
 * Run numbers are claimed atomically in the catalog: processes allocating for one entity at once never get the same
 * number (SQLite file shared by processes; the real PostgreSQL catalog of the services when PG_URL is set).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tempDir } from "../core/helpers.js";
import { RUN_ID } from "../helpers/context.js";
import { describeService, serviceEnv } from "../helpers/services.js";

const root = path.resolve(import.meta.dirname, "../..");

function child(where: string, entity: string, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", path.join(root, "test/oeem/allocate-child.ts"), where, entity, String(n)], { cwd: root });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

async function race(where: string, entity: string): Promise<void> {
  const lists = await Promise.all([child(where, entity, 25), child(where, entity, 25), child(where, entity, 25)]);
  const all = lists.flat();
  expect(new Set(all).size).toBe(75);
  expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 75 }, (_, i) => i));
  for (const l of lists) expect(l).toEqual([...l].sort((a, b) => a - b)); // each process's numbers increase
}

describe("run numbers: three processes on one SQLite catalog", () => {
  it("75 claims, 75 distinct numbers 0..74", async () => {
    const dir = tempDir();
    try {
      await race(path.join(dir, "catalog.sqlite"), "proj_1_up_1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describeService(["PG_URL"], "run numbers: three processes on the PostgreSQL catalog", () => {
  it("75 claims, 75 distinct numbers 0..74", async () => {
    await race(serviceEnv("PG_URL")!, `proj_${RUN_ID}_up`);
  }, 60_000);
});
