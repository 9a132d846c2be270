/**
 * The chaos harness's fault-injecting TCP proxy (bench/chaos/proxy.ts) in front of an echo server: it relays
 * untouched without a fault, and each fault kind does what it says (down refuses, reset resets after the given
 * bytes, stall accepts and never answers, throttle slows to the given bandwidth); clearing a fault restores the
 * service on the same port. Assertions are on outcomes, with generous lower bounds only, never on speed.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FaultProxy } from "../../bench/chaos/proxy.js";

let echo: net.Server;
let echoPort: number;
let proxy: FaultProxy;

beforeAll(async () => {
  echo = net.createServer((s) => {
    s.on("error", () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => echo.close(() => r()));
});
afterEach(async () => {
  await proxy?.close();
});

interface Exchange {
  received: number;
  error?: string;
  ms: number;
  timedOut: boolean;
}

/** Sends `bytes` through the proxy and waits for them to come back (or an error, or `waitMs`). */
function exchange(port: number, bytes: number, waitMs = 30_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let received = 0;
    let done = false;
    const finish = (r: Partial<Exchange>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ received, ms: Date.now() - t0, timedOut: false, error: undefined, ...r });
    };
    const sock = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => finish({ timedOut: true }), waitMs);
    sock.on("error", (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
    sock.on("close", () => finish({ error: received < bytes ? "closed" : undefined }));
    sock.on("data", (d) => {
      received += d.length;
      if (received >= bytes) finish({});
    });
    sock.on("connect", () => {
      // In pieces, so a fault can start in the middle.
      const piece = Buffer.alloc(4096, 120);
      let sent = 0;
      const send = () => {
        while (sent < bytes) {
          const n = Math.min(piece.length, bytes - sent);
          sent += n;
          if (!sock.write(piece.subarray(0, n))) return void sock.once("drain", send);
        }
      };
      send();
    });
  });
}

describe("FaultProxy", () => {
  it("relays untouched without a fault and counts the bytes both ways", async () => {
    proxy = await FaultProxy.start({ host: "127.0.0.1", port: echoPort });
    const r = await exchange(proxy.port, 100_000);
    expect(r).toMatchObject({ received: 100_000, error: undefined, timedOut: false });
    expect(proxy.bytes).toBe(200_000);
    expect(proxy.connections).toBe(1);
  });

  it("down: connections are refused; cleared, the same port answers again", async () => {
    proxy = await FaultProxy.start({ host: "127.0.0.1", port: echoPort });
    const port = proxy.port;
    await proxy.setFault({ kind: "down" });
    expect((await exchange(port, 10)).error).toBe("ECONNREFUSED");
    await proxy.clearFault();
    expect(proxy.port).toBe(port);
    expect(await exchange(port, 1000)).toMatchObject({ received: 1000, error: undefined });
  });

  it("down after some bytes: the open connection is reset, later ones refused", async () => {
    proxy = await FaultProxy.start({ host: "127.0.0.1", port: echoPort });
    await proxy.setFault({ kind: "down", afterBytes: 50_000 });
    const r = await exchange(proxy.port, 1_000_000);
    expect(r.error).toMatch(/ECONNRESET|closed/);
    expect(r.received).toBeLessThan(1_000_000);
    expect((await exchange(proxy.port, 10)).error).toBe("ECONNREFUSED");
  });

  it("reset: connections are reset after the given bytes, and new ones at once, until cleared", async () => {
    proxy = await FaultProxy.start({ host: "127.0.0.1", port: echoPort });
    await proxy.setFault({ kind: "reset", afterBytes: 100_000 });
    const r = await exchange(proxy.port, 1_000_000);
    expect(r.error).toBe("ECONNRESET");
    expect(r.received).toBeLessThan(1_000_000);
    // It relayed the bytes before the threshold (what the client had not read yet is lost with the reset).
    expect(proxy.bytes).toBeGreaterThanOrEqual(100_000);
    expect(proxy.bytes).toBeLessThan(2_000_000);
    const again = await exchange(proxy.port, 10);
    expect(again.error).toMatch(/ECONNRESET|closed/);
    expect(again.received).toBe(0);
    await proxy.clearFault();
    expect(await exchange(proxy.port, 1000)).toMatchObject({ received: 1000, error: undefined });
  });

  it("stall: accepted, never answered (also an open connection once the threshold is crossed); cleared, it answers", async () => {
    proxy = await FaultProxy.start({ host: "127.0.0.1", port: echoPort });
    await proxy.setFault({ kind: "stall" });
    const r = await exchange(proxy.port, 10, 1500);
    expect(r).toMatchObject({ received: 0, error: undefined, timedOut: true });
    await proxy.setFault({ kind: "stall", afterBytes: 20_000 });
    const mid = await exchange(proxy.port, 1_000_000, 1500);
    expect(mid.timedOut).toBe(true);
    expect(mid.received).toBeLessThan(1_000_000);
    await proxy.clearFault();
    expect(await exchange(proxy.port, 1000)).toMatchObject({ received: 1000, error: undefined });
  });

  it("throttle: everything arrives, no faster than the bandwidth allows", async () => {
    proxy = await FaultProxy.start({ host: "127.0.0.1", port: echoPort });
    await proxy.setFault({ kind: "throttle", bytesPerSecond: 100_000 });
    // 40 kB out and 40 kB back = 80 kB through the shared bucket: at least ~0.8 s.
    const r = await exchange(proxy.port, 40_000);
    expect(r).toMatchObject({ received: 40_000, error: undefined });
    expect(r.ms).toBeGreaterThanOrEqual(700);
    await proxy.clearFault();
    const fast = await exchange(proxy.port, 40_000);
    expect(fast.received).toBe(40_000);
  });

  it("throttle: a server that answers and closes at once still delivers every byte before the end", async () => {
    const talker = net.createServer((sock) => {
      sock.on("error", () => undefined);
      sock.end(Buffer.alloc(30_000, 65));
    });
    await new Promise<void>((r) => talker.listen(0, "127.0.0.1", () => r()));
    proxy = await FaultProxy.start({ host: "127.0.0.1", port: (talker.address() as AddressInfo).port });
    await proxy.setFault({ kind: "throttle", bytesPerSecond: 60_000 });
    const got = await new Promise<{ bytes: number; ended: boolean }>((resolve) => {
      let bytes = 0;
      const c = net.connect({ host: "127.0.0.1", port: proxy.port });
      c.on("data", (d) => (bytes += d.length));
      c.on("end", () => resolve({ bytes, ended: true }));
      c.on("error", () => resolve({ bytes, ended: false }));
    });
    await new Promise<void>((r) => talker.close(() => r()));
    expect(got).toEqual({ bytes: 30_000, ended: true });
  });
});
