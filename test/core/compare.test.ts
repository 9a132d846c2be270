import { describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import { compare, ListProvider, windowFor, type ProvItem } from "../../src/support/last-update.js";

const Z = "America/Chicago";
const day = (d: string) => DateTime.fromISO(d, { zone: Z });
const today = day("2024-11-20");
const popts = { today };
const item = (base: string, ext: string, d: string, end?: string): ProvItem => ({
  base,
  ext,
  date: day(d),
  dateEnd: end ? day(end) : null,
  payload: null,
  label: `${base}/${ext}/${d}`,
});

async function run(
  src: ProvItem[],
  tgt: ProvItem[] | undefined,
  opts: { force?: boolean; baseExtKey?: boolean; start?: string; end?: string; metadataExts?: string[]; groupBy?: "base"; covered?: string[] } = {},
) {
  const forced: string[] = [];
  const out: string[] = [];
  for await (const u of compare(new ListProvider(() => src, popts), tgt ? new ListProvider(() => tgt, popts) : undefined, {
    window: windowFor(opts.start ? day(opts.start) : undefined, opts.end ? day(opts.end) : undefined),
    force: opts.force ?? false,
    baseExtKey: opts.baseExtKey ?? true,
    ...(opts.metadataExts ? { isMetadata: (ext: string) => opts.metadataExts!.includes(ext) } : {}),
    ...(opts.groupBy ? { groupBy: opts.groupBy } : {}),
    onForced: (s) => forced.push(s.label),
    onCovered: (s) => opts.covered?.push(s.label),
  })) {
    out.push(u.label);
  }
  return { out, forced };
}

const v = (i: ProvItem, version?: string, from?: string): ProvItem => ({ ...i, ...(version ? { version } : {}), ...(from ? { from } : {}) });

describe("compare loop: versions (a changed source is not covered by what was made from its earlier version)", () => {
  it("a target made from another version of the source does not cover it; the same version or an unknown one does", async () => {
    const src = [v(item("A", "csv", "2024-11-01"), "h2"), v(item("A", "csv", "2024-11-02"), "h1"), item("A", "csv", "2024-11-03")];
    const tgt = [v(item("A", "csv", "2024-11-01"), undefined, "h1"), v(item("A", "csv", "2024-11-02"), undefined, "h1"), v(item("A", "csv", "2024-11-03"), undefined, "h9")];
    expect((await run(src, tgt)).out).toEqual(["A/csv/2024-11-01"]);
    const legacy = [item("A", "csv", "2024-11-01"), item("A", "csv", "2024-11-02"), item("A", "csv", "2024-11-03")];
    expect((await run(src, legacy)).out).toEqual([]);
  });

  it("a target made from several sources lists their versions; any one of them covers", async () => {
    const src = [v(item("A", "z1.json", "2024-11-01"), "a"), v(item("A", "z2.json", "2024-11-01"), "b")];
    const tgt = [v(item("A", "counts.json", "2024-11-01"), undefined, "a\nb")];
    expect((await run(src, tgt, { baseExtKey: false })).out).toEqual([]);
    const changed = [v(item("A", "z1.json", "2024-11-01"), "a"), v(item("A", "z2.json", "2024-11-01"), "c")];
    expect((await run(changed, tgt, { baseExtKey: false })).out).toEqual(["A/z2.json/2024-11-01"]);
  });

  it("grouped per (day, base): one changed item yields all items of its group; a covered group is reported once", async () => {
    const src = [
      v(item("A", "z1.json", "2024-11-01"), "a"),
      v(item("A", "z2.json", "2024-11-01"), "c"),
      v(item("B", "z1.json", "2024-11-01"), "x"),
      v(item("B", "z2.json", "2024-11-01"), "y"),
    ];
    const tgt = [v(item("A", "counts.json", "2024-11-01"), undefined, "a\nb"), v(item("B", "counts.json", "2024-11-01"), undefined, "x\ny")];
    const covered: string[] = [];
    expect((await run(src, tgt, { baseExtKey: false, groupBy: "base", covered })).out).toEqual(["A/z1.json/2024-11-01", "A/z2.json/2024-11-01"]);
    expect(covered).toEqual(["B/z1.json/2024-11-01"]);
  });
});

describe("compare loop", () => {
  it("yields source items no target covers (gap filling)", async () => {
    const src = ["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-04"].map((d) => item("Austin", "csv", d));
    const tgt = ["2024-11-01", "2024-11-03"].map((d) => item("Austin", "csv", d));
    expect((await run(src, tgt)).out).toEqual(["Austin/csv/2024-11-02", "Austin/csv/2024-11-04"]);
  });

  it("without a target yields everything", async () => {
    const src = [item("A", "csv", "2024-11-01"), item("B", "csv", "2024-11-01")];
    expect((await run(src, undefined)).out).toHaveLength(2);
  });

  it("keys on base+ext or on base alone; base-only ignores the target's metadata objects (unit data, a source's site files)", async () => {
    const src = [item("Austin", "unmatched.txt", "2024-11-01"), item("Austin", "matched.txt", "2024-11-01")];
    const tgt = [item("Austin", "unmatched.txt", "2024-11-01")];
    expect((await run(src, tgt, { baseExtKey: true })).out).toEqual(["Austin/matched.txt/2024-11-01"]);
    expect((await run(src, tgt, { baseExtKey: false })).out).toEqual([]);
    const unitOnly = [item("Austin", "unit_data.json", "2024-11-01"), item("Austin", "site.json", "2024-11-01")];
    expect((await run(src, unitOnly, { baseExtKey: false, metadataExts: ["unit_data.json", "site.json"] })).out).toHaveLength(2);
    expect((await run(src, unitOnly, { baseExtKey: false, metadataExts: ["unit_data.json"] })).out).toEqual([]);
  });

  it("counts a longer target that started earlier as covering (fixes B37)", async () => {
    const src = [item("Austin", "csv", "2024-11-02"), item("Austin", "csv", "2024-11-05")];
    const tgt = [item("Austin", "csv", "2024-11-01", "2024-11-04")];
    expect((await run(src, tgt)).out).toEqual(["Austin/csv/2024-11-05"]);
  });

  it("overlaps a sub-day source with a daily target, and a target after the source does not cover it", async () => {
    const src = [item("A", "csv", "2024-11-02", "2024-11-02T12:00"), item("A", "csv", "2024-11-03")];
    const tgt = [item("A", "csv", "2024-11-02"), item("A", "csv", "2024-11-04")];
    expect((await run(src, tgt)).out).toEqual(["A/csv/2024-11-03"]);
  });

  it("on the fall-back day a target covers its whole 25 hours", async () => {
    const src = [item("A", "csv", "2024-11-03T23:30", "2024-11-04")];
    const tgt = [item("A", "csv", "2024-11-03")];
    expect((await run(src, tgt)).out).toEqual([]);
  });

  it("--force yields everything and reports each forced (key, date) once", async () => {
    const src = [item("A", "csv", "2024-11-01"), item("A", "csv", "2024-11-01"), item("A", "csv", "2024-11-02")];
    const tgt = [item("A", "csv", "2024-11-01"), item("A", "csv", "2024-11-02")];
    const r = await run(src, tgt, { force: true });
    expect(r.out).toHaveLength(3);
    expect(r.forced).toEqual(["A/csv/2024-11-01", "A/csv/2024-11-02"]);
  });

  it("never yields today's or later items without -e; with -e inside the window it does", async () => {
    const src = [item("A", "csv", "2024-11-19"), item("A", "csv", "2024-11-20"), item("A", "csv", "2024-11-21")];
    expect((await run(src, [], { start: "2024-11-01" })).out).toEqual(["A/csv/2024-11-19"]);
    expect((await run(src, [], { start: "2024-11-01", end: "2024-11-21" })).out).toEqual(["A/csv/2024-11-19", "A/csv/2024-11-20"]);
    expect((await run(src, [], { start: "2024-11-20", end: "2024-11-20" })).out).toEqual(["A/csv/2024-11-20"]);
  });

  it("is linear: 150,000 sources against 75,000 targets", async () => {
    const base = day("2020-01-01");
    const src: ProvItem[] = [];
    for (let i = 0; i < 1500; i++) for (let b = 0; b < 100; b++) src.push({ base: `b${b}`, ext: "csv", date: base.plus({ days: i }), payload: null, label: "" });
    const tgt = src.filter((_, i) => i % 2 === 0);
    const r = await run(src, tgt);
    expect(r.out).toHaveLength(src.length - tgt.length);
    // The size is the check (a quadratic compare of 150,000 × 75,000 runs for minutes); the limit is generous so that
    // a loaded machine does not fail a linear one.
  }, 300_000);
});
