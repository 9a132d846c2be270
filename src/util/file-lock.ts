/**
 * A lock between the processes of one host (and of hosts sharing the folder): a file created exclusively
 * (O_EXCL) holding who holds it. Its holder refreshes the file's mtime while it holds it; a lock whose holder is a
 * dead process of this host is taken over at once, one not refreshed for `staleMs` (a holder on another host that
 * died) after that time. A waiting process is told once who holds the lock and until when.
 */
import { hostname } from "node:os";
import { open, readFile, rm, stat, utimes, mkdir } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface LockHolder {
  host: string;
  pid: number;
  /** What the holder is doing ("lake run wt-extract-soc"). */
  what: string;
  /** Epoch ms the lock was taken. */
  since: number;
}

/** "host:pid" of this process: the owner text of leases and locks. */
export function processOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * True when an owner text ("host:pid[:…]") names a process of this host that no longer runs: its lease or lock can
 * be taken over at once. Owners of other hosts, or not in that form, are never judged dead here.
 */
export function ownerIsDeadHere(owner: string): boolean {
  const [host, pidText] = owner.split(":");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

export interface FileLockOptions {
  /** What this process does with the lock (shown to waiting processes). */
  what: string;
  /** A lock whose file was not refreshed for this long is taken over (holder crashed on another host). */
  staleMs: number;
  /** Give up after waiting this long; undefined = wait as long as the lock is held. */
  waitMs?: number;
  /** Told once, when the lock is held by someone else, who and until when at the latest. */
  onWait?: (holder: LockHolder | undefined, staleAt: number) => void;
  now?: () => number;
}

export interface HeldLock {
  release(): Promise<void>;
}

async function readHolder(file: string): Promise<{ holder: LockHolder | undefined; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(text) as LockHolder;
    } catch {
      holder = undefined; // being written right now, or torn: judged by its age
    }
    return { holder, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Takes the lock file, waiting while someone else holds it; the returned handle keeps it fresh until released. */
export async function acquireFileLock(file: string, o: FileLockOptions): Promise<HeldLock> {
  const now = o.now ?? Date.now;
  const deadline = o.waitMs === undefined ? Number.POSITIVE_INFINITY : now() + o.waitMs;
  const me: LockHolder = { host: hostname(), pid: process.pid, what: o.what, since: now() };
  let told = false;
  let pause = 20;
  await mkdir(path.dirname(file), { recursive: true });
  for (;;) {
    try {
      const fh = await open(file, "wx");
      try {
        await fh.writeFile(JSON.stringify(me));
      } finally {
        await fh.close();
      }
      const beat = setInterval(() => {
        const t = new Date();
        void utimes(file, t, t).catch(() => undefined);
      }, Math.max(50, Math.floor(o.staleMs / 3)));
      beat.unref();
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          clearInterval(beat);
          const held = await readHolder(file).catch(() => undefined);
          if (held?.holder && held.holder.pid === me.pid && held.holder.host === me.host && held.holder.since === me.since) {
            await rm(file, { force: true });
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const held = await readHolder(file);
    if (!held) continue; // released meanwhile
    const dead = held.holder ? ownerIsDeadHere(`${held.holder.host}:${held.holder.pid}`) : false;
    const staleAt = held.mtimeMs + o.staleMs;
    if (dead || now() >= staleAt) {
      // Taken over: removed only if it is still the file judged (another waiter may have taken it first).
      const again = await readHolder(file);
      if (again && again.mtimeMs === held.mtimeMs) await rm(file, { force: true });
      continue;
    }
    if (!told) {
      told = true;
      o.onWait?.(held.holder, staleAt);
    }
    if (now() >= deadline) {
      const who = held.holder ? `${held.holder.host}:${held.holder.pid} (${held.holder.what})` : "another process";
      throw Object.assign(new Error(`${file} is held by ${who} until ${new Date(staleAt).toISOString()} at the latest`), { holder: held.holder });
    }
    await sleep(Math.min(pause, Math.max(1, deadline - now())));
    pause = Math.min(500, pause * 2);
  }
}
