/**
 * The in-memory hand-over of `lake pipeline`: the objects a stage writes are kept in memory (besides being written
 * to storage as always, catalog rows and all), and the next stage's read of one of them is answered from memory
 * instead of the storage driver. Off by default (every read goes to storage); `runPipelines` turns it on for its
 * run and moves it on at each stage: what a stage wrote is kept through the next stage's run and then let go, and an
 * object is let go as soon as it was read (a stage reads its input once). A budget bounds the bytes held: a write beyond it is not kept (its reader goes to storage). So does a
 * cap per object: a large object (a big source's day) is not kept at all, its reader streams it from storage, so a
 * day is never held whole twice (by the writer's hand-over and the reader's own working set); what the hand-over
 * saves is the storage round trip of the many small objects, which a large one does not need. A delete or an overwrite by another put replaces what is held,
 * so memory never answers what storage would not.
 */
import { Readable } from "node:stream";
import type { StorageDriver } from "./drivers.js";

export interface HandoverStats {
  /** Reads answered from memory. */
  handedOver: number;
  /** Reads that went to the storage driver. */
  storageReads: number;
  /** Bytes held now, and the most held at once. */
  heldBytes: number;
  peakHeldBytes: number;
}

interface Held {
  pieces: Buffer[];
  bytes: number;
  /** The stage (generation) that wrote it. */
  generation: number;
}

/** Pieces of a streamed body are kept as written, but at least this large (fewer, larger buffers). */
const MIN_PIECE = 64 * 1024;

export class Handover {
  private budget = 0;
  private maxObject = 0;
  private generation = 0;
  private readonly held = new Map<string, Held>();
  readonly stats: HandoverStats = { handedOver: 0, storageReads: 0, heldBytes: 0, peakHeldBytes: 0 };

  get enabled(): boolean {
    return this.budget > 0;
  }

  /** Starts keeping written objects, at most `budgetBytes` at once and none larger than `maxObjectBytes`. */
  enable(budgetBytes: number, maxObjectBytes = budgetBytes): void {
    this.budget = budgetBytes;
    this.maxObject = maxObjectBytes;
  }

  /** Stops keeping objects and lets go of every one held. */
  disable(): void {
    this.budget = 0;
    this.held.clear();
    this.stats.heldBytes = 0;
  }

  /** A stage begins: what the stage before the previous one wrote is let go. */
  nextStage(): void {
    this.generation++;
    for (const [k, h] of this.held) if (h.generation < this.generation - 1) this.drop(k);
  }

  /** The storage driver with reads answered from memory when the hand-over holds the object. */
  storage<D extends StorageDriver>(driver: D): D {
    const self = this;
    const key = (repository: string, k: string) => `${repository}\u0000${k}`;
    const overrides: Partial<StorageDriver> = {
      async put(repository, k, body, opts) {
        const id = key(repository, k);
        self.drop(id);
        if (!self.enabled) return driver.put(repository, k, body, opts);
        if (body instanceof Uint8Array) {
          await driver.put(repository, k, body, opts);
          self.keep(id, [Buffer.from(body.buffer, body.byteOffset, body.byteLength)], body.byteLength);
          return;
        }
        // A stream: its pieces pass through to the driver and are kept on the way, while they fit the budget.
        const pieces: Buffer[] = [];
        let bytes = 0;
        let fits = true;
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        const flush = () => {
          if (pendingBytes) pieces.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes));
          pending = [];
          pendingBytes = 0;
        };
        const tee = Readable.from(
          (async function* () {
            for await (const chunk of body) {
              const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer);
              if (fits) {
                bytes += buf.byteLength;
                if (!self.room(bytes)) {
                  fits = false;
                  pieces.length = 0;
                  pending = [];
                  pendingBytes = 0;
                } else {
                  pending.push(buf);
                  pendingBytes += buf.byteLength;
                  if (pendingBytes >= MIN_PIECE) flush();
                }
              }
              yield buf;
            }
          })(),
        );
        await driver.put(repository, k, tee, opts);
        if (fits) {
          flush();
          self.keep(id, pieces, bytes);
        }
      },
      async get(repository, k, opts) {
        const h = self.take(key(repository, k));
        if (h) return h.pieces.length === 1 ? h.pieces[0]! : Buffer.concat(h.pieces, h.bytes);
        self.stats.storageReads++;
        return driver.get(repository, k, opts);
      },
      async getStream(repository, k, opts) {
        const h = self.take(key(repository, k));
        if (h) return Readable.from(h.pieces);
        self.stats.storageReads++;
        return driver.getStream(repository, k, opts);
      },
      async delete(repository, k, opts) {
        self.drop(key(repository, k));
        return driver.delete(repository, k, opts);
      },
    };
    return new Proxy(driver, {
      get(target, prop, receiver) {
        if (typeof prop === "string" && prop in overrides) return overrides[prop as keyof StorageDriver];
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  private room(bytes: number): boolean {
    return this.enabled && bytes <= this.maxObject && this.stats.heldBytes + bytes <= this.budget;
  }

  private keep(id: string, pieces: Buffer[], bytes: number): void {
    if (!this.room(bytes)) return;
    this.held.set(id, { pieces, bytes, generation: this.generation });
    this.stats.heldBytes += bytes;
    this.stats.peakHeldBytes = Math.max(this.stats.peakHeldBytes, this.stats.heldBytes);
  }

  private take(id: string): Held | undefined {
    const h = this.held.get(id);
    if (!h) return undefined;
    this.drop(id);
    this.stats.handedOver++;
    return h;
  }

  private drop(id: string): void {
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    this.stats.heldBytes -= h.bytes;
  }
}

