import { describe, expect, it } from "vitest";
import {
  KNACK_LOOKUPS,
  MAX_GPS_FEET,
  STREET_SYNONYMS,
  candidates,
  fuzzyWinner,
  gps2feet,
  matchDevice,
  matchTables,
  synonymVariants,
} from "../../src/sources/gs/match.js";
import type { UnitDevice } from "../../src/support/drivers.js";
import { ConfigError } from "../../src/support/errors.js";

function dev(id: number, loc: string, primary: string | null, cross: string | null, extra: Partial<UnitDevice> = {}): UnitDevice {
  return {
    device_type: "GRIDSMART",
    atd_device_id: id,
    device_ip: `10.0.0.${id}`,
    device_status: "OK",
    ip_comm_status: "ONLINE",
    atd_location_id: loc,
    coa_intersection_id: 1000 + id,
    lat: 30.2 + id / 1000,
    lon: -97.7 - id / 1000,
    primary_st: primary,
    primary_st_segment_id: null,
    cross_st: cross,
    cross_st_segment_id: null,
    ...extra,
  };
}

const devices: UnitDevice[] = [
  dev(1, "LOC16-000001", "BURNET RD", "RICHCREEK RD"),
  dev(2, "LOC16-000002", "S LAMAR BLVD", "MANCHACA RD"),
  dev(3, "LOC16-004315", "CAPITAL OF TEXAS HWY", "BARTON CREEK BLVD"),
  dev(4, "LOC16-000004", "MOPAC EXPY SVRD", "W 5TH ST"),
  dev(5, "LOC16-000005", "E 51ST ST", "AIRPORT BLVD", { lat: 30.3422, lon: -97.7416 }),
];

describe("gps2feet (original gps_h)", () => {
  it("gives Python's values", () => {
    // python3: gps_h.gps2feet(30.3422, -97.7416, 30.3430, -97.7416) = 291.8501108759889
    expect(gps2feet(30.3422, -97.7416, 30.343, -97.7416)).toBeCloseTo(291.8501108759889, 9);
    expect(gps2feet(30.26, -97.74, 30.2607, -97.7409)).toBeCloseTo(381.6268340214846, 9);
    expect(gps2feet(30.26, -97.74, 30.26, -97.74)).toBe(0);
  });
});

describe("match tables", () => {
  it("holds the original lookups and synonyms, with both Loop 1 synonyms (B26)", () => {
    expect(KNACK_LOOKUPS["Loop 360_Barton Creek"]).toBe("LOC16-004315");
    expect(KNACK_LOOKUPS["Parmer_Market Dwy"]).toBe("LOC16-002565");
    expect(STREET_SYNONYMS["Loop 1"]).toEqual(["MOPAC EXPY SVRD", "MOPAC"]);
    expect(STREET_SYNONYMS["Loop 360"]).toEqual(["CAPITAL OF TEXAS HWY"]);
  });

  it("lets sources.gs.lookups and .synonyms override and add entries", () => {
    const t = matchTables({ lookups: { "Burnet_Richcreek": "LOC16-000002", "Loop 360_Barton Creek": "X" }, synonyms: { Mopac: "MOPAC EXPY SVRD" } });
    expect(t.lookups["Burnet_Richcreek"]).toBe("LOC16-000002");
    expect(t.lookups["Loop 360_Barton Creek"]).toBe("X");
    expect(t.lookups["Parmer_Market Dwy"]).toBe("LOC16-002565");
    expect(t.synonyms["Mopac"]).toEqual(["MOPAC EXPY SVRD"]);
    expect(t.synonyms["Loop 1"]).toEqual(["MOPAC EXPY SVRD", "MOPAC"]);
  });

  it("rejects a malformed table with a ConfigError naming the key", () => {
    expect(() => matchTables({ lookups: { a: 5 } })).toThrow(ConfigError);
    expect(() => matchTables({ lookups: { a: 5 } })).toThrow(/sources\.gs\.lookups\.a/);
  });

  it("lists synonym variants in candidate order without the unchanged pair", () => {
    expect(synonymVariants("Loop 1", "5th", STREET_SYNONYMS)).toEqual(["mopac expy svrd 5th", "mopac 5th"]);
    expect(synonymVariants("Burnet", "Richcreek", STREET_SYNONYMS)).toEqual([]);
  });
});

describe("device-match cascade", () => {
  it("stage 0: the lookup table, with reversed set (fixes B16)", () => {
    const m = matchDevice({ street1: "Loop 360", street2: "Barton Creek" }, devices);
    expect(m.method).toBe("lookup");
    expect(m.device?.atd_device_id).toBe(3);
    expect(m.device).toHaveProperty("reversed", false);
    // The lookup path decides the orientation from the names: a device stored cross-first is reversed.
    const swapped = [dev(3, "LOC16-004315", "BARTON CREEK BLVD", "CAPITAL OF TEXAS HWY")];
    const m2 = matchDevice({ street1: "Loop 360", street2: "Barton Creek" }, swapped);
    expect(m2.method).toBe("lookup");
    expect(m2.device?.reversed).toBe(true);
  });

  it("stage 0: a lookup id missing from the unit data falls through to the other steps, with a warning", () => {
    const m = matchDevice({ street1: "Parmer", street2: "Market Dwy" }, devices);
    expect(m.warnings[0]).toMatch(/LOC16-002565/);
    expect(m.method).not.toBe("lookup");
  });

  it("stage 1: fuzzy ratio >= 0.7 in the site's orientation", () => {
    const m = matchDevice({ street1: "Burnet", street2: "Richcreek" }, devices);
    expect(m.method).toBe("fuzzy");
    expect(m.device?.atd_device_id).toBe(1);
    expect(m.device?.reversed).toBe(false);
    // python3 difflib: ratio("burnet richcreek", "burnet rd richcreek rd") = 0.8421052631578947
    expect(m.ratio).toBe(0.8421052631578947);
  });

  it("stage 1: fuzzy in the reversed orientation sets reversed = true", () => {
    const m = matchDevice({ street1: "Richcreek", street2: "Burnet" }, devices);
    expect(m.method).toBe("fuzzy");
    expect(m.device?.atd_device_id).toBe(1);
    expect(m.device?.reversed).toBe(true);
  });

  it("stage 1: the first candidate with the strictly greatest ratio wins ties", () => {
    const twins = [dev(7, "A", "X ST", "Y ST"), dev(8, "B", "X ST", "Y ST")];
    const { winner } = fuzzyWinner(candidates(twins), "x st y st");
    expect(winner?.device.atd_device_id).toBe(7);
    expect(winner?.reversed).toBe(false);
  });

  it("stage 1: skips devices whose names are 'nan', and treats null names as empty", () => {
    const list = candidates([dev(1, "A", "nan", "X"), dev(2, "B", null, "Y ST")]);
    expect(list.map((c) => c.text)).toEqual([" y st", "y st "]);
    const m = matchDevice({ street1: "", street2: "Y ST" }, [dev(2, "B", null, "Y ST")]);
    expect(m.device?.primary_st).toBe("");
  });

  it("stage 2: synonyms, the first candidate of a duplicated key winning ties (B26)", () => {
    const m = matchDevice({ street1: "Loop 1", street2: "5th" }, devices);
    expect(m.method).toBe("synonym");
    expect(m.device?.atd_device_id).toBe(4);
    expect(m.matchedOn).toBe("mopac expy svrd 5th");
    // python3: ratio("mopac expy svrd 5th", "mopac expy svrd w 5th st") = 0.8837209302325582
    expect(m.ratio).toBe(0.8837209302325582);
  });

  it("stage 2: the second Loop 1 synonym (lost to B26 in the original) can match", () => {
    const list = [dev(9, "LOC-9", "MOPAC", "W 5TH ST", { lat: null, lon: null })];
    // Original: only "mopac expy svrd 5th" → 0.606 < 0.7 → no match. Here "mopac 5th" → 0.7826.
    const m = matchDevice({ street1: "Loop 1", street2: "5th" }, list);
    expect(m.method).toBe("synonym");
    expect(m.matchedOn).toBe("mopac 5th");
    expect(m.ratio).toBe(0.782608695652174);
  });

  it("stage 3: the site file's device IP", () => {
    const m = matchDevice({ street1: "Nowhere", street2: "Qqq", netAddr: "10.0.0.2", latitude: 0, longitude: 0 }, devices);
    expect(m.method).toBe("ip");
    expect(m.device?.atd_device_id).toBe(2);
    expect(m.device?.reversed).toBe(false);
  });

  it("stage 4: nearest device within 300 ft", () => {
    const m = matchDevice({ street1: "Nowhere", street2: "Qqq", netAddr: "10.9.9.9", latitude: 30.343, longitude: -97.7416 }, devices);
    expect(m.method).toBe("gps");
    expect(m.device?.atd_device_id).toBe(5);
    expect(m.feet).toBeCloseTo(291.8501108759889, 9);
    expect(m.feet!).toBeLessThan(MAX_GPS_FEET);
  });

  it("stage 4: runs without device_net_addr too, and refuses farther than 300 ft", () => {
    const near = matchDevice({ street1: "Nowhere", street2: "Qqq", latitude: "30.343", longitude: "-97.7416" }, devices);
    expect(near.method).toBe("gps");
    const far = matchDevice({ street1: "Nowhere", street2: "Qqq", latitude: 30.2607, longitude: -97.7409 }, [dev(1, "A", "Q", "R", { lat: 30.26, lon: -97.74 })]);
    expect(far.method).toBe("none");
    expect(far.device).toBeUndefined();
    expect(far.warnings.join(" ")).toMatch(/382 ft away/);
  });

  it("never mutates the unit data", () => {
    const list = [dev(2, "B", null, "Y ST")];
    const before = structuredClone(list);
    matchDevice({ street1: "", street2: "Y ST" }, list);
    matchDevice({ street1: "Loop 360", street2: "Barton Creek" }, devices);
    expect(list).toEqual(before);
    expect(devices.some((d) => "reversed" in d)).toBe(false);
  });
});
