/** In-memory storage for tests: repository → key → bytes. */
import { Readable } from "node:stream";
import { defineDriver } from "../define.js";
import { memoryStorageOptions } from "../options.js";
import type { ObjectInfo, StorageDriver } from "../../support/drivers.js";
import { NotFoundError } from "../../support/errors.js";
import { bodyToBuffer } from "./body.js";

export class MemoryStorage implements StorageDriver {
  readonly driverName = "memory";
  readonly capabilities = { multipart: false };
  readonly repos = new Map<string, Map<string, { body: Buffer; modified: number }>>();

  private repo(name: string) {
    let r = this.repos.get(name);
    if (!r) this.repos.set(name, (r = new Map()));
    return r;
  }

  async put(repository: string, key: string, body: Uint8Array | Readable): Promise<void> {
    this.repo(repository).set(key, { body: await bodyToBuffer(body), modified: Date.now() });
  }

  async get(repository: string, key: string): Promise<Buffer> {
    const o = this.repos.get(repository)?.get(key);
    if (!o) throw new NotFoundError(`memory storage: no object ${repository}/${key}`);
    return Buffer.from(o.body);
  }

  async getStream(repository: string, key: string): Promise<Readable> {
    return Readable.from([await this.get(repository, key)]);
  }

  async exists(repository: string, key: string): Promise<boolean> {
    return this.repos.get(repository)?.has(key) ?? false;
  }

  async delete(repository: string, key: string): Promise<void> {
    this.repos.get(repository)?.delete(key);
  }

  async *list(repository: string, prefix: string): AsyncIterable<ObjectInfo> {
    const r = this.repos.get(repository);
    if (!r) return;
    const keys = [...r.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const o = r.get(key);
      if (o) yield { key, size: o.body.byteLength, modified: o.modified };
    }
  }
}

export default defineDriver({
  options: memoryStorageOptions,
  create: () => new MemoryStorage(),
});
