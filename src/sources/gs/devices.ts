/**
 * Which inventory devices gs-insert-lake contacts (original §9.3.1, gs_support.retrieveDevices):
 * not REMOVED, with a location, first of each IP (trimmed, lower-case), street text matching the -f regex (search).
 * A device with no primary street is kept with an empty one instead of crashing the run (fixes B17).
 */
import type { UnitDevice } from "../../support/drivers.js";

export interface DeviceCandidate {
  ip: string;
  /** "primary_cross" with "/" → "&", as matched against -f. */
  streets: string;
  device: UnitDevice;
}

export interface DeviceSelection {
  selected: DeviceCandidate[];
  /** Why others were left out: [device label, reason]. */
  skipped: [string, string][];
  warnings: string[];
}

function text(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  const s = String(v);
  return s === "nan" || s === "NaN" ? undefined : s;
}

export function selectDevices(devices: UnitDevice[], nameFilter: RegExp): DeviceSelection {
  const selected: DeviceCandidate[] = [];
  const skipped: [string, string][] = [];
  const warnings: string[] = [];
  const ips = new Set<string>();
  devices.forEach((d, i) => {
    const label = `device ${text(d.atd_device_id) ?? `#${i + 1}`} (${text(d.device_ip) ?? "no IP"})`;
    if ((text(d.device_status) ?? "").trim().toUpperCase() === "REMOVED") return skipped.push([label, "removed"]);
    const loc = text(d.atd_location_id);
    if (!loc || loc.trim() === "") return skipped.push([label, "no location"]);
    const ip = (text(d.device_ip) ?? "").trim();
    if (!ip) return skipped.push([label, "no IP address"]);
    const key = ip.toLowerCase();
    if (ips.has(key)) {
      warnings.push(`Device address '${ip}' is duplicated (${label}); skipping it`);
      return skipped.push([label, "duplicate IP address"]);
    }
    ips.add(key);
    const streets = `${text(d.primary_st) ?? ""}_${text(d.cross_st) ?? ""}`.replace(/\//g, "&");
    if (!nameFilter.test(streets)) return skipped.push([label, "name filter"]);
    selected.push({ ip, streets, device: d });
    return undefined;
  });
  return { selected, skipped, warnings };
}
