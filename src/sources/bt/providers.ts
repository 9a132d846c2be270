/**
 * A provider seen through a mapping: items renamed (another ext) or left out. Lets a stage compare on (base, ext)
 * when the target names the same file type differently (raw "unmatched.txt" ↔ standardized "unmatched.json"), so
 * one file type done for a day never hides another (the original compared on base alone: B28).
 */
import { LastUpdateProvider, type DateWindow, type ProvItem, type UpdateItem } from "../../support/last-update.js";

export class MappedProvider<P> extends LastUpdateProvider<P> {
  constructor(
    private readonly inner: LastUpdateProvider<P>,
    private readonly map: (item: ProvItem<P>) => ProvItem<P> | undefined,
  ) {
    // The inner provider applies the same-day cut itself; this wrapper only maps.
    super({ sameDay: true, today: undefined as never });
  }

  override async prepare(window: DateWindow): Promise<void> {
    await super.prepare(window);
    await this.inner.prepare(window);
  }

  protected async *runQuery(): AsyncIterable<ProvItem<P>> {
    for await (const item of this.inner.items()) {
      const mapped = this.map(item);
      if (mapped) yield mapped;
    }
  }

  override resolvePayload(item: UpdateItem<P>): Promise<unknown> {
    return this.inner.resolvePayload(item);
  }
}
