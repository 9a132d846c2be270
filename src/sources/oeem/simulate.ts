/**
 * The OEEM demo: a Green Button auth service + ESPI API (two customers, three usage points: one normal, one that
 * stopped publishing a month ago; the demo's third is well-formed, the tests make it malformed) and an OEEM
 * datastore, served while the stages run (daily readings; the fake serves hourly by default). Nothing is written to disk: the systems live in the process.
 */
import type { SourceDemo } from "../../support/kit.js";

const demo: SourceDemo = {
  async simulate() {
    return {};
  },
  async serve() {
    const { startEspiFake, startDatastoreFake, defaultCustomers } = await import("./fakes.js");
    const espi = await startEspiFake({ customers: defaultCustomers(Date.now, false), intervalSeconds: 86_400 }); // daily readings: a quick demo
    const store = await startDatastoreFake();
    return {
      stop: async () => {
        await espi.stop();
        await store.stop();
      },
      sourceConfig: { auth: { url: espi.authUrl }, espi: { url: espi.espiUrl }, datastore: { url: store.url } },
    };
  },
};
export default demo;
