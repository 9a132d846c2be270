/**
 * The feeds demo: a fake utility website served while the runs go, three jobs against it (the bills API; the HTML
 * portal, whose page is broken on its first request: that run fails, and the demo's repair pass runs it again; a
 * meter's hourly interval readings), dispatched on the queue (the in-process one on the embedded default) over the
 * demo's last three days. The broken page is the demo's fault: later commands on a demo lake meet a healthy site.
 */
import type { SourceDemo } from "../../support/kit.js";

const demo: SourceDemo = {
  async simulate() {
    return {};
  },
  async serve(ctx) {
    const { startUtilitySite } = await import("./fakes.js");
    // The portal's broken first page is the demo's fault to repair; later commands meet a healthy site.
    const site = await startUtilitySite({ since: "2024-01-01", failPortal: ctx.faults === false ? 0 : 1 });
    return {
      stop: () => site.stop(),
      sourceConfig: {
        jobs: [
          { name: "city-water", id: "mds-1", impl: "fake-utility-bills", params: { url: site.url, account: "W-1001" }, timeoutMs: 60_000 },
          { name: "city-power", impl: "fake-utility-portal", params: { url: site.url, account: "E_2002" }, timeoutMs: 60_000 },
          { name: "city-meter", impl: "fake-utility-interval", type: "interval", account: "M-3003", params: { url: site.url, meter: "M-3003" }, timeoutMs: 60_000 },
        ],
      },
    };
  },
  window: { from: "2024-11-07", to: "2024-11-10" },
  viaQueue: true,
};
export default demo;
