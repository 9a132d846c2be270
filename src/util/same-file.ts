/**
 * Writing a simulated source file only when its content changes: a simulator that runs again (the demo, a test)
 * leaves identical files untouched, so their modification time (the file's version in the compare loop) says they
 * did not change. The new content goes to a temp file first (any size, never held whole), then replaces the old
 * file only when their hashes differ.
 */
import { createHash } from "node:crypto";
import { appendFileSync, createReadStream, existsSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sweepTempsOnce, tempPathFor } from "./temp-file.js";

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("md5");
    createReadStream(file)
      .on("data", (c) => h.update(c))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });
}

/** Writes the pieces to `file` unless it already holds exactly them; returns whether the file was (re)written. */
export async function writeIfChanged(file: string, pieces: Iterable<string>): Promise<boolean> {
  sweepTempsOnce(path.dirname(file));
  const tmp = tempPathFor(file);
  const h = createHash("md5");
  writeFileSync(tmp, "");
  let chunk: string[] = [];
  const flush = () => {
    const text = chunk.join("");
    h.update(text);
    appendFileSync(tmp, text);
    chunk = [];
  };
  for (const p of pieces) {
    chunk.push(p);
    if (chunk.length === 10_000) flush();
  }
  flush();
  const fresh = h.digest("hex");
  if (existsSync(file) && statSync(file).size === statSync(tmp).size && (await hashFile(file)) === fresh) {
    rmSync(tmp);
    return false;
  }
  renameSync(tmp, file);
  return true;
}
