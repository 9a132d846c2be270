/**
 * The feeds source through the compiled CLI (dist/): a run's child process imports the source's bundle entry to
 * find runFeedJob, so the source's code must stay in that entry (a shared chunk does not export it). The demo's
 * runs on the in-process queue, each in its own child process, must all complete.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root } from "../helpers/build.js";
import { tempDir } from "../core/helpers.js";

let work: string;
beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("lake-feeds-compiled-");
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("feeds through the compiled lake", () => {
  it("lake demo --sources feeds: every job's run in its child process completes, nothing failed", () => {
    const r = spawnSync(process.execPath, [path.join(root, "bin/lake.js"), "demo", "--dir", path.join(work, "lake"), "--sources", "feeds", "--json"], {
      cwd: work,
      encoding: "utf8",
      env: { ...process.env, LAKE_HOME: "" },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/exports no function/);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { failed?: number; processed?: number };
    expect(out.failed ?? 0).toBe(0);
  }, 300_000);
});
