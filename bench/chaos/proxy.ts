/**
 * A fault-injecting TCP proxy (node:net) for the chaos harness: it listens on 127.0.0.1 and relays every connection
 * to one real service, counting the bytes it relays. A fault can be set at any time; it starts once `afterBytes`
 * more bytes have been relayed (0 = at once), and lasts until it is cleared:
 *
 * - `down`: the service is gone: the listener is closed (new connections are refused, ECONNREFUSED) and every open
 *   connection is reset. Cleared, the proxy listens again on the same port.
 * - `reset` (failure mid-run): every open connection is reset (RST, ECONNRESET on both sides) and every new
 *   connection is reset as soon as it is accepted.
 * - `stall` (timeout): connections stay open but nothing is relayed any more, either way; new connections are
 *   accepted and never answered. Cleared, the stalled connections are destroyed.
 * - `throttle`: everything still flows, through one token bucket of `bytesPerSecond` shared by all connections.
 *
 * TLS passes through untouched (the proxy never looks at the bytes), so HTTPS services keep their certificates.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";

export type FaultKind = "down" | "reset" | "stall" | "throttle";
export const FAULT_KINDS: readonly FaultKind[] = ["down", "reset", "stall", "throttle"];

export interface Fault {
  kind: FaultKind;
  /** Bytes relayed (both ways, all connections) after the fault is set before it starts. @default 0 */
  afterBytes?: number;
  /** throttle: bandwidth shared by every connection, bytes per second. @default 65536 */
  bytesPerSecond?: number;
}

export interface ProxyTarget {
  host: string;
  port: number;
}

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
}

export class FaultProxy {
  /** Bytes relayed since the proxy started (both ways). */
  bytes = 0;
  /** Connections accepted since the proxy started. */
  connections = 0;
  private readonly pairs = new Set<Pair>();
  private fault: Fault | undefined;
  private active = false;
  private armedAt = 0;
  private nextFree = 0;
  private listening = false;
  private closed = false;
  private listenPort = 0;
  private server: net.Server;

  private constructor(
    readonly name: string,
    readonly target: ProxyTarget,
  ) {
    this.server = this.newServer();
  }

  /** Starts a proxy in front of `target` on `port` (0: any free port). */
  static async start(target: ProxyTarget, opts: { port?: number; name?: string } = {}): Promise<FaultProxy> {
    const proxy = new FaultProxy(opts.name ?? `${target.host}:${target.port}`, target);
    await proxy.listen(opts.port ?? 0);
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  /** host:port of the proxy. */
  get address(): string {
    return `127.0.0.1:${this.listenPort}`;
  }

  /** The fault set (pending or active), if any. */
  get current(): (Fault & { active: boolean }) | undefined {
    return this.fault ? { ...this.fault, active: this.active } : undefined;
  }

  /** Sets a fault (replacing any other); it starts after `afterBytes` more bytes. */
  async setFault(fault: Fault): Promise<void> {
    await this.clearFault();
    this.fault = { ...fault };
    this.armedAt = this.bytes;
    this.active = false;
    if (!fault.afterBytes) await this.activate();
  }

  /** Removes the fault: the service is reachable and fast again. */
  async clearFault(): Promise<void> {
    const was = this.fault;
    this.fault = undefined;
    this.active = false;
    if (!was) return;
    if (was.kind === "stall") for (const p of [...this.pairs]) this.destroy(p, false);
    if (!this.listening && !this.closed) await this.listen(this.listenPort);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fault = undefined;
    for (const p of [...this.pairs]) this.destroy(p, false);
    if (this.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.listening = false;
  }

  // ---------------------------------------------------------------- internals

  private newServer(): net.Server {
    const server = net.createServer({ pauseOnConnect: true }, (client) => this.accept(client));
    server.on("error", () => undefined);
    return server;
  }

  private async listen(port: number): Promise<void> {
    this.server = this.newServer();
    // A port just closed can stay busy for a moment; try again briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          this.server.once("error", reject);
          this.server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
            this.server.off("error", reject);
            resolve();
          });
        });
        break;
      } catch (err) {
        if (attempt >= 50 || (err as NodeJS.ErrnoException).code !== "EADDRINUSE" || port === 0) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.listenPort = (this.server.address() as AddressInfo).port;
    this.listening = true;
  }

  private async activate(): Promise<void> {
    const f = this.fault;
    if (!f || this.active) return;
    this.active = true;
    if (f.kind === "down") {
      for (const p of [...this.pairs]) this.destroy(p, true);
      if (this.listening) {
        this.listening = false;
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
      }
    } else if (f.kind === "reset") {
      for (const p of [...this.pairs]) this.destroy(p, true);
    } else if (f.kind === "throttle") {
      this.nextFree = Date.now();
    }
  }

  /** Counts relayed bytes and starts a pending fault once its threshold is crossed. */
  private count(n: number): void {
    this.bytes += n;
    const f = this.fault;
    if (f && !this.active && this.bytes - this.armedAt >= (f.afterBytes ?? 0)) void this.activate();
  }

  private destroy(p: Pair, reset: boolean): void {
    this.pairs.delete(p);
    for (const s of [p.client, p.upstream]) {
      if (!s || s.destroyed) continue;
      if (reset && typeof s.resetAndDestroy === "function") s.resetAndDestroy();
      else s.destroy();
    }
  }

  private accept(client: net.Socket): void {
    this.connections++;
    const pair: Pair = { client };
    this.pairs.add(pair);
    // A side that closes cleanly has ended its half (the other side is ended after its pending bytes, in relay());
    // a side that fails takes the other down with it.
    const closed = () => {
      if (client.destroyed && (!pair.upstream || pair.upstream.destroyed)) this.pairs.delete(pair);
    };
    client.on("error", () => this.destroy(pair, true));
    client.on("close", closed);
    const f = this.active ? this.fault : undefined;
    if (f?.kind === "reset" || f?.kind === "down") {
      this.destroy(pair, true);
      return;
    }
    if (f?.kind === "stall") {
      client.on("data", () => undefined); // read and drop: never answered
      client.resume();
      return;
    }
    const upstream = net.connect({ host: this.target.host, port: this.target.port });
    pair.upstream = upstream;
    upstream.on("error", () => this.destroy(pair, true));
    upstream.on("close", closed);
    upstream.once("connect", () => {
      this.relay(pair, client, upstream);
      this.relay(pair, upstream, client);
      client.resume();
    });
  }

  private relay(pair: Pair, from: net.Socket, to: net.Socket): void {
    // A throttled chunk may still be waiting when the sender finishes: end only after it is written.
    let waiting = 0;
    let ended = false;
    const endIfDone = () => {
      if (ended && waiting === 0 && this.pairs.has(pair)) to.end();
    };
    from.on("end", () => {
      ended = true;
      endIfDone();
    });
    from.on("data", (chunk: Buffer) => {
      if (!this.pairs.has(pair)) return;
      this.count(chunk.length);
      const f = this.active ? this.fault : undefined;
      if (f?.kind === "stall") return; // dropped
      if (f?.kind === "reset" || f?.kind === "down") return; // the pair was reset by activate()
      if (f?.kind === "throttle") {
        const rate = f.bytesPerSecond ?? 65_536;
        const now = Date.now();
        const start = Math.max(now, this.nextFree);
        this.nextFree = start + (chunk.length / rate) * 1000;
        const wait = this.nextFree - now;
        from.pause();
        waiting++;
        setTimeout(() => {
          waiting--;
          if (!this.pairs.has(pair)) return;
          const fault = this.active ? this.fault : undefined;
          if (fault?.kind === "stall") return; // became stalled while waiting: dropped, and stays paused
          if (to.write(chunk)) from.resume();
          else to.once("drain", () => from.resume());
          endIfDone();
        }, wait);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
  }
}
