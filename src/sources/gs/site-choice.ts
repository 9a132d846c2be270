/**
 * Which site file describes a data day (pure). A site file is captured on the day gs-insert-lake reads the device
 * (it is dated that day) and holds the device's configuration and clock reading of that moment. For data day D the
 * lake uses the site file captured nearest to D (in calendar days between its date and D), the one captured after D
 * on a tie: the capture that followed the day is the one that saw its configuration last. A site file further than
 * `sources.gs.siteFileHorizonDays` from D is still used (it is the best there is), with a warning naming both days.
 *
 * gs-json-standard applies it to the raw site files, gs-ready to the standardized copies (every raw site file is
 * copied there), so both stages of one day use the same capture. The original took the latest site file on or before
 * D inside the run's window, else the first after it; see docs/sources/gridsmart.md for the difference.
 */
import type { DateTime } from "luxon";

/** Calendar days from a to b (local dates; a 23- or 25-hour day is one day). */
export function calendarDays(a: DateTime, b: DateTime): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

export interface SiteChoice<T> {
  file: T;
  /** Calendar days from the data day to the site file's date (negative: captured before the day). */
  daysFromDay: number;
}

/** The site file nearest to the day, the later one on a tie; undefined when there is none. */
export function nearestSiteFile<T>(files: Iterable<T>, day: DateTime, dateOf: (file: T) => DateTime): SiteChoice<T> | undefined {
  let best: SiteChoice<T> | undefined;
  for (const file of files) {
    const d = calendarDays(day, dateOf(file));
    if (!best || Math.abs(d) < Math.abs(best.daysFromDay) || (Math.abs(d) === Math.abs(best.daysFromDay) && d > best.daysFromDay)) {
      best = { file, daysFromDay: d };
    }
  }
  return best;
}

/**
 * Site files used for days further than the horizon, gathered during a run and reported once per intersection and
 * site file (a backfill far from any capture would otherwise repeat the same warning for every day).
 */
export class FarSiteFiles {
  private readonly uses = new Map<string, { base: string; siteDate: DateTime; days: DateTime[]; far: number[] }>();
  constructor(readonly horizonDays: number) {}

  /** Notes the choice of a site file dated siteDate for day; true when it is beyond the horizon. */
  note(base: string, day: DateTime, siteDate: DateTime, daysFromDay: number): boolean {
    if (Math.abs(daysFromDay) <= this.horizonDays) return false;
    const key = `${base}|${siteDate.toISODate()}`;
    const use = this.uses.get(key) ?? { base, siteDate, days: [], far: [] };
    if (!use.days.some((d) => d.toMillis() === day.toMillis())) {
      use.days.push(day);
      use.far.push(Math.abs(daysFromDay));
    }
    this.uses.set(key, use);
    return true;
  }

  /** One warning per intersection and site file, naming the site file's date and the days it was used for. */
  warnings(): string[] {
    return [...this.uses.values()].map(({ base, siteDate, days, far }) => {
      const sorted = [...days].sort((a, b) => a.toMillis() - b.toMillis());
      const span = sorted.length === 1 ? sorted[0]!.toISODate() : `${sorted.length} days ${sorted[0]!.toISODate()} to ${sorted.at(-1)!.toISODate()}`;
      const lo = Math.min(...far);
      const hi = Math.max(...far);
      return (
        `${base}: the site file dated ${siteDate.toISODate()} is the nearest there is for ${span}, ${lo === hi ? lo : `${lo}-${hi}`} days away ` +
        `(more than sources.gs.siteFileHorizonDays = ${this.horizonDays}); its zones and clock reading were used`
      );
    });
  }
}
