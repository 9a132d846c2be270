/** The HTTP helper: transient answers retried, refusals classified, tokens never in messages; the uploader's order. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpJson, paged } from "../../src/support/http.js";
import { uploadOrder } from "../../src/support/bulk-upload.js";

const FAST = { retries: 3, minTimeoutMs: 5, maxTimeoutMs: 20 };
let url = "";
let hits = 0;
const server = createServer((req, res) => {
  hits++;
  if (req.url === "/flaky" && hits % 3 !== 0) return res.writeHead(503).end("busy");
  if (req.url === "/refuse") return res.writeHead(400).end(`bad: ${req.headers.authorization}`);
  const page = Number(new URL(req.url ?? "/", "http://x").searchParams.get("p") ?? 0);
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items: [page], next: page < 2 ? `/list?p=${page + 1}` : null }));
});
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("http helper", () => {
  it("retries 5xx and pages", async () => {
    hits = 0;
    expect(await httpJson(`${url}/flaky`, { retry: FAST })).toMatchObject({ items: [0] });
    expect(hits).toBe(3);
    const all: number[] = [];
    for await (const n of paged<number>(`${url}/list`, async (u) => {
      const p = await httpJson<{ items: number[]; next: string | null }>(u.startsWith("http") ? u : `${url}${u}`);
      return { items: p.items, next: p.next ?? undefined };
    })) all.push(n);
    expect(all).toEqual([0, 1, 2]);
  });

  it("a refusal is terminal, names the call, and carries no token", async () => {
    const err = await httpJson(`${url}/refuse`, { auth: { bearer: "s3cret-token-value" }, retry: FAST, what: "datastore sync" }).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/^datastore sync: HTTP 400/);
    expect(String((err as Error).message)).not.toContain("s3cret-token-value");
  });

  it("the uploader orders parents before children and refuses a cycle", () => {
    const t = (name: string, parent?: string) => ({ name, batchSize: 1, ...(parent ? { parent: { type: parent, keyField: "k", idField: "i" } } : {}) });
    expect(uploadOrder([t("c", "b"), t("b", "a"), t("a")]).map((x) => x.name)).toEqual(["a", "b", "c"]);
    expect(() => uploadOrder([t("a", "b"), t("b", "a")])).toThrow(/cycle/);
  });
});
