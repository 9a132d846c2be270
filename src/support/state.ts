/**
 * The lake's own bookkeeping, kept in the storage driver's state repository (not a layer: nothing here is
 * catalogued): small text objects by key, such as the row ids of each publication. The storage driver comes from
 * the runtime, so its calls are retried and timed there; simulation writes nothing and plans what it would.
 */
import type { StorageDriver } from "./drivers.js";
import type { PlanEntry } from "./events.js";
import { NotFoundError } from "./errors.js";

export class StateStore {
  constructor(
    private readonly driver: StorageDriver,
    readonly repository: string,
    private readonly opts: { simulate?: boolean; plan?: PlanEntry[] } = {},
  ) {}

  /** The text under a key, or undefined when there is none. */
  async read(key: string): Promise<string | undefined> {
    try {
      return (await this.driver.get(this.repository, key)).toString("utf8");
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
    await this.driver.put(this.repository, key, Buffer.from(text, "utf8"), { contentType: "text/plain" });
  }
}
