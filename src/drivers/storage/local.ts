/**
 * Local filesystem storage (the embedded default): <root>/<repository>/<key>. Writes are atomic: the body goes to
 * a temp file in the same folder, then rename() replaces the object, so a reader never sees a partial file; a temp
 * file a killed writer left is removed by the next write into, or listing of, its folder (util/temp-file.ts).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { defineDriver } from "../define.js";
import { localStorageOptions } from "../options.js";
import type { ObjectInfo, StorageDriver } from "../../support/drivers.js";
import { NotFoundError, TerminalError } from "../../support/errors.js";
import { isAbandonedTemp, isTempName, sweepTempsOnce, tempPathFor } from "../../util/temp-file.js";


function checkSegment(kind: string, value: string): void {
  if (!value || value === "." || value === ".." || value.includes("\0") || value.includes("\\")) {
    throw new TerminalError(`local storage: invalid ${kind} ${JSON.stringify(value)}: no empty, ".", ".." or "\\" segments`);
  }
}

export class LocalStorage implements StorageDriver {
  readonly driverName = "local";
  readonly capabilities = { multipart: false };

  /** Folders this driver has swept of killed writers' temp files (once each). */
  private readonly swept = new Set<string>();

  constructor(readonly root: string) {}

  /** Absolute path of an object; refuses keys that would leave the repository folder. */
  objectPath(repository: string, key: string): string {
    checkSegment("repository", repository);
    if (repository.includes("/")) checkSegment("repository", "..");
    if (key.startsWith("/")) throw new TerminalError(`local storage: key ${JSON.stringify(key)} must be relative`);
    for (const seg of key.split("/")) checkSegment("key segment", seg);
    return path.join(this.root, repository, ...key.split("/"));
  }

  async put(repository: string, key: string, body: Uint8Array | Readable): Promise<void> {
    const file = this.objectPath(repository, key);
    await mkdir(path.dirname(file), { recursive: true });
    sweepTempsOnce(path.dirname(file), this.swept); // temp files of killed writers (util/temp-file.ts)
    const tmp = tempPathFor(file);
    try {
      if (body instanceof Uint8Array) await writeFile(tmp, body);
      else await pipeline(body, createWriteStream(tmp));
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(repository: string, key: string): Promise<Buffer> {
    try {
      return await readFile(this.objectPath(repository, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`local storage: no object ${repository}/${key}`);
      throw err;
    }
  }

  async getStream(repository: string, key: string): Promise<Readable> {
    const file = this.objectPath(repository, key);
    if (!(await this.exists(repository, key))) throw new NotFoundError(`local storage: no object ${repository}/${key}`);
    return createReadStream(file);
  }

  async exists(repository: string, key: string): Promise<boolean> {
    try {
      return (await stat(this.objectPath(repository, key))).isFile();
    } catch {
      return false;
    }
  }

  async delete(repository: string, key: string): Promise<void> {
    await rm(this.objectPath(repository, key), { force: true });
  }

  async *list(repository: string, prefix: string): AsyncIterable<ObjectInfo> {
    checkSegment("repository", repository);
    const repoDir = path.join(this.root, repository);
    // Walk only the folder the prefix fully names.
    const cut = prefix.lastIndexOf("/");
    const startRel = cut >= 0 ? prefix.slice(0, cut) : "";
    const found: ObjectInfo[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path.join(repoDir, ...rel.split("/").filter(Boolean)), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (isTempName(e.name)) {
          // A killed writer's temp file goes when its folder is next listed; a live writer's is not an object yet.
          if (isAbandonedTemp(e.name)) await rm(path.join(repoDir, ...rel.split("/").filter(Boolean), e.name), { force: true });
          continue;
        }
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix)) await walk(key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          const s = await stat(path.join(repoDir, ...key.split("/")));
          found.push({ key, size: s.size, modified: s.mtimeMs });
        }
      }
    };
    await walk(startRel);
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* found;
  }
}

export default defineDriver({
  options: localStorageOptions,
  create: (o, ctx) => new LocalStorage(path.resolve(ctx.baseDir, o.root ?? path.join(ctx.home, "lake"))),
});
