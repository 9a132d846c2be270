/**
 * The lake's own bookkeeping, kept in the storage driver's state repository (not a layer: nothing here is
 * catalogued): small text objects by key, such as the row ids of each publication. Reads and writes go through the
 * same retries as every storage call; simulation writes nothing and plans what it would.
 */
import type { StorageDriver } from "./drivers.js";
import type { PlanEntry } from "./events.js";
import { NotFoundError } from "./errors.js";
import { withRetry, DEFAULT_RETRY, type RetryPolicy } from "./resilience.js";

export class StateStore {
  constructor(
    private readonly driver: StorageDriver,
    readonly repository: string,
    private readonly opts: { simulate?: boolean; retry?: RetryPolicy; plan?: PlanEntry[] } = {},
  ) {}

  /** The text under a key, or undefined when there is none. */
  async read(key: string): Promise<string | undefined> {
    try {
      const buf = await withRetry(`${this.driver.driverName} get ${this.repository}/${key}`, () => this.driver.get(this.repository, key), this.opts.retry ?? DEFAULT_RETRY);
      return buf.toString("utf8");
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Replaces the text under a key atomically (readers see the old or the new text). */
  async write(key: string, text: string): Promise<void> {
    if (this.opts.simulate) {
      this.opts.plan?.push({ kind: "storage", target: this.repository, detail: `${key} (${Buffer.byteLength(text)} bytes)` });
      return;
    }
    const body = Buffer.from(text, "utf8");
    await withRetry(`${this.driver.driverName} put ${this.repository}/${key}`, () => this.driver.put(this.repository, key, body, { contentType: "text/plain" }), this.opts.retry ?? DEFAULT_RETRY);
  }
}
