// Child of test/core/process-zone.test.ts: installs the process zone named by argv[2] (it patches luxon for the whole
// process, so each zone gets its own process) and prints, as JSON, what luxon answers in that zone for every hour of
// 2019–2026: offsets, ISO text of instants, instants of local wall times (DST gaps and overlaps included), day starts.
import { DateTime } from "luxon";
import { useProcessZone } from "../../src/util/process-zone.js";
import { zoneAnswers } from "./process-zone-answers.js";

const zone = process.argv[2]!;
const installed = useProcessZone(zone);
process.stdout.write(JSON.stringify({ installed: installed !== undefined, tz: process.env.TZ ?? null, probeType: DateTime.now().setZone(zone).zone.constructor.name, answers: installed ? zoneAnswers(zone) : null }));
