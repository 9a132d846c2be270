/**
 * The MDS demo: two fake providers on one local server, lime (MDS 0.4, throttles: every 8th request a 429 with
 * Retry-After) and bird (MDS 0.3, an outage: its 10:00 hour of 2024-11-03 answers HTTP 500 to its first 3 requests,
 * so the first pass fails that block and the repair sweep takes it). The demo runs the 25-hour day 2024-11-03.
 * Both faults are the demo's: later commands on a demo lake meet providers that neither throttle nor fail.
 * The tokens and the encryption key of a demo lake are fixed demo values (set only when the environment has none).
 */
import { DateTime } from "luxon";
import type { SourceDemo } from "../../support/kit.js";
import { startFakeMds, type FakeProvider } from "./fake.js";

const DEMO_ENV: Record<string, string> = {
  MDS_DEMO_LIME_TOKEN: "demo-lime-token-0c5f",
  MDS_DEMO_BIRD_TOKEN: "demo-bird-token-91ad",
  LAKE_ENCRYPTION_KEY: "ZGVtby1rZXktZm9yLXRoZS1sYWtlZmxvdy1kZW1vISE=",
};

/** The demo's providers; without faults (later commands on a demo lake) neither throttles nor fails. */
export function demoProviders(zone: string, faults = true): FakeProvider[] {
  const outage = DateTime.fromISO("2024-11-03T10:00", { zone }).toMillis();
  return [
    { name: "lime", version: "0.4", token: DEMO_ENV.MDS_DEMO_LIME_TOKEN!, ...(faults ? { throttleEvery: 8, retryAfter: 0.5 } : {}) },
    { name: "bird", version: "0.3", token: DEMO_ENV.MDS_DEMO_BIRD_TOKEN!, ...(faults ? { failHours: [outage], failTimes: 3 } : {}) },
  ];
}

const demo: SourceDemo = {
  simulate: async () => ({}),
  window: { from: "2024-11-03", to: "2024-11-04" },
  async serve(ctx) {
    for (const [k, v] of Object.entries(DEMO_ENV)) process.env[k] ??= v;
    const fake = await startFakeMds(demoProviders(ctx.zone, ctx.faults !== false));
    const retry = { retries: 2, minDelayMs: 100, maxDelayMs: 1_000 };
    return {
      stop: () => fake.stop(),
      sourceConfig: {
        providers: [
          { name: "lime", version: "0.4", url: fake.url("lime"), tokenSecret: "MDS_DEMO_LIME_TOKEN", ...retry },
          { name: "bird", version: "0.3", url: fake.url("bird"), tokenSecret: "MDS_DEMO_BIRD_TOKEN", ...retry },
        ],
      },
    };
  },
};
export default demo;
