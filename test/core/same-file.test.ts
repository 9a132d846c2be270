/** Simulators rewrite a file only when its content changes, so a rerun of the demo sees unchanged sources. */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync, utimesSync } from "node:fs";
import path from "node:path";
import { writeIfChanged } from "../../src/util/same-file.js";
import { writeShare } from "../../src/sources/bt/simulate.js";
import { tempDir } from "./helpers.js";

describe("writeIfChanged", () => {
  it("leaves a file with the same content untouched, replaces one with other content, leaves no temp file", async () => {
    const dir = tempDir();
    const file = path.join(dir, "a.txt");
    expect(await writeIfChanged(file, ["one\n", "two\n"])).toBe(true);
    const old = new Date("2020-01-01T00:00:00Z");
    utimesSync(file, old, old);
    expect(await writeIfChanged(file, ["one\ntwo\n"])).toBe(false);
    expect(statSync(file).mtime.toISOString()).toBe(old.toISOString());
    expect(await writeIfChanged(file, ["one\nthree\n"])).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("one\nthree\n");
    expect(readdirSync(dir)).toEqual(["a.txt"]);
  });

  it("the Bluetooth share written twice keeps every file's modification time (the demo's rerun finds nothing new)", async () => {
    const dir = tempDir();
    const lines = await writeShare(dir, "America/Chicago", "2024-11-02", "2024-11-04");
    const old = new Date("2020-01-01T00:00:00Z");
    for (const f of readdirSync(dir)) utimesSync(path.join(dir, f), old, old);
    expect(await writeShare(dir, "America/Chicago", "2024-11-02", "2024-11-04")).toBe(lines);
    expect(readdirSync(dir)).toHaveLength(6);
    for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).mtime.toISOString()).toBe(old.toISOString());
  });
});
