/**
 * The lake's zone as the process's own (start-up budget, issue 13). luxon answers "what is the offset of America/Chicago
 * at this instant" through Intl.DateTimeFormat, and the first such formatter loads ICU's zone and locale data: about
 * 8 MiB of memory in every process, though a stage with nothing to do needs a handful of offsets. The engine's Date
 * answers the same question for the process's zone (process.env.TZ) with the same ICU rules and no formatter. So a
 * command-line process that has one lake zone sets TZ to it and gives luxon a Zone that reads offsets from Date:
 * every DateTime in that zone (by name, as the code writes it, or as this object) then costs no Intl at all.
 *
 * Installed only where it is exact: TZ unset or already naming the zone, and the zone known to the engine (an unknown
 * name makes Date fall back to UTC silently, so zones whose offset is 0 all year are refused: they keep luxon's own
 * zone). Other zones and formatting that needs Intl (zone abbreviations) go through luxon unchanged. The test proves
 * offsets and local times equal luxon's IANAZone for every hour of 2019–2026 in several zones, DST days included.
 */
import { FixedOffsetZone, IANAZone, Settings, Zone, type ZoneOffsetFormat, type ZoneOffsetOptions } from "luxon";

export class ProcessZone extends Zone {
  private iana: IANAZone | undefined;

  constructor(private readonly zoneName: string) {
    super();
  }

  override get type(): string {
    return "iana";
  }

  override get name(): string {
    return this.zoneName;
  }

  get ianaName(): string {
    return this.zoneName;
  }

  override get isUniversal(): boolean {
    return false;
  }

  override get isValid(): boolean {
    return true;
  }

  /** Minutes east of UTC at ts (epoch ms), from the engine's local time of this process (TZ = this zone). */
  override offset(ts: number): number {
    const minutes = -new Date(ts).getTimezoneOffset();
    return minutes === 0 ? 0 : minutes; // never -0
  }

  override formatOffset(ts: number, format: ZoneOffsetFormat): string {
    return FixedOffsetZone.instance(this.offset(ts)).formatOffset(ts, format);
  }

  /** Zone abbreviations ("CST") need Intl: luxon's own zone answers them, created on first use. */
  override offsetName(ts: number, opts: ZoneOffsetOptions): string | null {
    this.iana ??= createIana(this.zoneName);
    return this.iana.offsetName(ts, opts);
  }

  override equals(other: Zone): boolean {
    return other.type === "iana" && other.name === this.zoneName;
  }
}

const createIana: (name: string) => IANAZone = IANAZone.create.bind(IANAZone);
let installed: ProcessZone | undefined;

/** Why the zone cannot be the process's, or undefined when it can. */
function refusal(zone: string): string | undefined {
  const env = process.env;
  if (installed) return installed.name === zone ? undefined : `the process zone is already ${installed.name}`;
  if (env.TZ !== undefined && env.TZ !== zone) return `TZ names another zone (${env.TZ})`;
  return undefined;
}

/**
 * Makes zone the process's zone for luxon (see above). Returns the zone object, or undefined (and changes nothing)
 * when it cannot be exact here; luxon's own zone is then used as before.
 */
export function useProcessZone(zone: string): ProcessZone | undefined {
  if (refusal(zone) !== undefined) return undefined;
  const env = process.env;
  if (installed) return installed;
  const before = env.TZ;
  env.TZ = zone;
  const probe = new ProcessZone(zone);
  // An unknown name gives UTC all year; a real zone with offset 0 all year keeps luxon's zone too (indistinguishable).
  const year = new Date().getUTCFullYear();
  if (probe.offset(Date.UTC(year, 0, 15)) === 0 && probe.offset(Date.UTC(year, 6, 15)) === 0) {
    if (before === undefined) delete env.TZ;
    else env.TZ = before;
    return undefined;
  }
  installed = probe;
  IANAZone.create = (name: string): IANAZone => (name === zone ? (probe as unknown as IANAZone) : createIana(name));
  // luxon asks Intl for the system locale unless these are set; the lake's text is en-US, Latin digits, Gregorian.
  Settings.defaultLocale ??= "en-US";
  Settings.defaultNumberingSystem ??= "latn";
  Settings.defaultOutputCalendar ??= "gregory";
  return probe;
}
