import { DateTime } from "luxon";

/** What luxon answers in zone for every hour of 2019–2026 (see process-zone-child.ts). */
export function zoneAnswers(zone: string): { offsets: number[]; iso: string[]; wall: number[]; days: number[]; formatted: string[] } {
  const offsets: number[] = [];
  const iso: string[] = [];
  const wall: number[] = [];
  const days: number[] = [];
  const formatted: string[] = [];
  const start = Date.UTC(2019, 0, 1);
  const end = Date.UTC(2027, 0, 1);
  for (let t = start; t < end; t += 3_600_000) {
    const dt = DateTime.fromMillis(t, { zone });
    offsets.push(dt.offset);
    if (t % (6 * 3_600_000) === 0) iso.push(dt.toISO()!);
  }
  // Local wall times: every hour of every day (the DST gap and the repeated hour resolve as luxon resolves them).
  for (let d = DateTime.fromObject({ year: 2019, month: 1, day: 1 }, { zone }); d.year < 2027; d = d.plus({ days: 1 })) {
    days.push(d.startOf("day").toMillis());
    for (let h = 0; h < 24; h++) wall.push(DateTime.fromObject({ year: d.year, month: d.month, day: d.day, hour: h, minute: 30 }, { zone }).toMillis());
    if (d.day === 1) formatted.push(d.plus({ hours: 13 }).toFormat("yyyy-MM-dd HH:mm:ss ZZ"));
  }
  return { offsets, iso, wall, days, formatted };
}
