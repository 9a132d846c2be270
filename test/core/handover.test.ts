/**
 * `lake pipeline`'s in-memory hand-over (src/support/handover.ts): in one pipeline run, what a stage wrote reaches
 * the next stage from memory, so the storage driver serves fewer reads; the lake, the catalog and the published
 * datasets are byte for byte what a run without it makes.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import Database from "better-sqlite3";
import { LakeRuntime } from "../../src/support/runtime.js";
import { fixedClock } from "../../src/util/dates.js";
import { runPipelines } from "../../src/orchestration/pipeline-run.js";
import { defaultRegistry } from "../../src/orchestration/pipelines.js";
import { writeShare, bluetoothDevices } from "../../src/sources/bt/simulate.js";
import { createKitsDatabase, radarDevices } from "../../src/sources/wt/simulate.js";
import { writeInventorySection } from "../../src/util/inventory-file.js";
import { Handover } from "../../src/support/handover.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "handover-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const DAY = "2024-11-05";

/** Every file under dir (relative path → bytes), SQLite databases as their rows. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) walk(p);
      else if (/\.(sqlite|db)(-wal|-shm|-journal)?$/.test(e.name)) {
        if (!/\.(sqlite|db)$/.test(e.name)) continue;
        const db = new Database(p, { readonly: true });
        try {
          const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
          out.set(rel, tables.map((t) => `${t.name}: ${JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).all().map((r) => JSON.stringify(r)).sort())}`).join("\n"));
        } finally {
          db.close();
        }
      } else if (!rel.startsWith("sources") && !rel.startsWith("locks") && statSync(p).size >= 0) out.set(rel, readFileSync(p, "latin1"));
    }
  };
  walk(dir);
  return out;
}

// The source systems, shared by both runs (a raw object's version includes its file's mtime).
const share = path.join(tmp, "awam");
const kits = path.join(tmp, "kits.sqlite");

async function pipelineRun(name: string, handoverBytes: number) {
  const home = path.join(tmp, name);
  if (!existsSync(share)) {
    await writeShare(share, "America/Chicago", DAY, "2024-11-06");
    createKitsDatabase(kits, { zone: "America/Chicago", from: DAY, to: "2024-11-06" });
  }
  writeInventorySection(path.join(home, "sources", "inventory.json"), "bt", bluetoothDevices());
  writeInventorySection(path.join(home, "sources", "inventory.json"), "wt", radarDevices());
  const runtime = LakeRuntime.create({
    env: {},
    overrides: { home, sources: { bt: { sourcedir: share }, wt: { sql: { driver: "sqlite", options: { path: kits } } } } },
    clock: fixedClock("2024-11-20T10:00:00-06:00"),
  });
  try {
    const results = await runPipelines(runtime, await defaultRegistry(), ["bt", "wt"], { start_date: DAY, end_date: DAY }, undefined, undefined, handoverBytes);
    expect(results.map((r) => r.error ?? r.summary?.failed)).toEqual(results.map(() => 0));
    return { home, stats: { ...runtime.handover.stats }, records: results.map((r) => r.summary?.records) };
  } finally {
    await runtime.close();
  }
}

it("hands a stage's written objects to the next stage from memory; the lake, catalog and datasets are the same", async () => {
  const without = await pipelineRun("without", 0);
  const withIt = await pipelineRun("with", 64 * 2 ** 20);
  expect(without.stats.handedOver).toBe(0);
  // bt: standardize, ready and publish each read the 3 files the stage before wrote; wt: the same, one file each.
  expect(withIt.stats.handedOver).toBeGreaterThanOrEqual(9 + 3);
  expect(withIt.stats.storageReads).toBe(without.stats.storageReads - withIt.stats.handedOver);
  expect(withIt.stats.heldBytes).toBe(0); // all let go at the end
  expect(withIt.records).toEqual(without.records);
  const a = snapshot(without.home);
  const b = snapshot(withIt.home);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  expect([...a.keys()].some((k) => k.startsWith("published"))).toBe(true);
  for (const [k, v] of a) expect(b.get(k), k).toBe(v);
});

it("keeps only what fits the budget, lets go of what a stage two back wrote, and never answers for a deleted or rewritten object", async () => {
  const h = new Handover();
  const inner = new MemoryStorage();
  const s = h.storage(inner);
  await s.put("r", "a", Buffer.from("first"));
  expect((await s.get("r", "a")).toString()).toBe("first");
  expect(h.stats).toMatchObject({ handedOver: 0, storageReads: 1 }); // off: storage answers
  h.enable(10);
  await s.put("r", "a", Buffer.from("12345"));
  await s.put("r", "big", Buffer.from("12345678901")); // over the budget: not kept
  expect((await s.get("r", "a")).toString()).toBe("12345");
  expect((await s.get("r", "big")).toString()).toBe("12345678901");
  expect(h.stats).toMatchObject({ handedOver: 1, storageReads: 2 });
  await s.put("r", "b", (await import("node:stream")).Readable.from([Buffer.from("ab"), "cd"]));
  await inner.put("r", "b", Buffer.from("changed behind its back"));
  h.nextStage();
  h.nextStage(); // written two stages back: let go
  expect((await s.get("r", "b")).toString()).toBe("changed behind its back");
  await s.put("r", "c", Buffer.from("cc"));
  await s.delete("r", "c");
  await expect(s.get("r", "c")).rejects.toThrow();
  await s.put("r", "d", Buffer.from("dd"));
  await s.put("r", "d", Buffer.from("d2"));
  const chunks: Buffer[] = [];
  for await (const c of await s.getStream("r", "d")) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe("d2");
  expect(h.stats.heldBytes).toBe(0);
});

it("does not keep an object larger than its cap per object, written whole or streamed; its reader goes to storage", async () => {
  const h = new Handover();
  const s = h.storage(new MemoryStorage());
  h.enable(100, 4);
  const { Readable } = await import("node:stream");
  await s.put("r", "small", Buffer.from("1234"));
  await s.put("r", "large", Buffer.from("12345"));
  await s.put("r", "streamed", Readable.from([Buffer.from("12"), Buffer.from("345")]));
  expect(h.stats.heldBytes).toBe(4);
  expect((await s.get("r", "small")).toString()).toBe("1234");
  expect((await s.get("r", "large")).toString()).toBe("12345");
  const chunks: Buffer[] = [];
  for await (const c of await s.getStream("r", "streamed")) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe("12345");
  expect(h.stats).toMatchObject({ handedOver: 1, storageReads: 2, heldBytes: 0, peakHeldBytes: 4 });
});
