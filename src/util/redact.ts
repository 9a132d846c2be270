/**
 * Secret masking: every configured secret value, the forms it travels in (base64 at any alignment, as sent in a
 * Basic-auth header or a JWT segment; URL-encoded) and the user-info of any URL (`scheme://user:password@host`)
 * become `***`. One instance per process (`secretRedactor`): the secret source registers every value it hands out,
 * and every way out of the process (driver errors, events, summaries, plans, block messages, perfmet rows) passes
 * its text through it.
 */

const MASK = "***";

/** Shorter values are not registered: masking them would mangle ordinary text ("1", "on") and protect nothing. */
export const MIN_SECRET_LENGTH = 4;

/** scheme://user-info@ : everything between "//" and "@" before the host (no "/", "@" or white space in it). */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s'"<>]+@/gi;
/** A whole URL with user-info, as it may sit in a configuration value ("postgres://u:pw@host:5432/db"). */
const URL_WITH_USERINFO = /[a-z][a-z0-9+.-]*:\/\/[^/?#@\s'"<>]+@[^/?#\s'"<>]*/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The base64 text a value turns into wherever it sits inside a longer encoded string: for each of the three byte
 * alignments, the characters that depend on the value's bytes only. Any base64 of a text containing the value
 * contains one of these.
 */
export function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const out = new Set<string>();
  for (let pad = 0; pad < 3; pad++) {
    const enc = Buffer.concat([Buffer.alloc(pad), bytes]).toString("base64").replace(/=+$/, "");
    const first = Math.ceil((8 * pad) / 6);
    const last = Math.floor((8 * (pad + bytes.length)) / 6); // exclusive
    const core = enc.slice(first, last);
    if (core.length >= MIN_SECRET_LENGTH) {
      out.add(core);
      out.add(core.replace(/\+/g, "-").replace(/\//g, "_")); // base64url (JWT segments)
    }
  }
  return [...out];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

export class Redactor {
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;
  private dirty = false;

  /**
   * Registers a secret value (and, with every other one, the "a:b" pair a Basic-auth header is made of). A URL
   * with credentials (a connection string) registers its password and user-info rather than the whole URL, so
   * messages keep naming the host and database.
   */
  add(value: string | undefined | null): void {
    if (typeof value !== "string" || value.length < MIN_SECRET_LENGTH || this.values.has(value)) return;
    const url = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]*@/i.test(value) ? safeUrl(value) : undefined;
    let parts = [value];
    if (url && (url.password || url.username)) {
      // Without a password the user-info is a name, masked inside URLs only (a token as user name is masked there).
      const password = safeDecode(url.password);
      parts = url.password ? [url.password, password, `${url.username}:${url.password}`, `${safeDecode(url.username)}:${password}`] : [];
    }
    for (const part of parts) {
      if (part.length < MIN_SECRET_LENGTH || part === ":" || this.values.has(part)) continue;
      this.values.add(part);
      this.dirty = true;
    }
  }

  /**
   * Registers the credentials of every URL with user-info found in a JSON-like value (a configuration: a password
   * written into a connection string in the config file is as secret as one from the secrets file).
   */
  addUrlCredentials(value: unknown, seen = new Set<unknown>()): void {
    if (typeof value === "string") {
      if (value.includes("@") && value.includes("://")) for (const m of value.match(URL_WITH_USERINFO) ?? []) this.add(m);
      return;
    }
    if (!value || typeof value !== "object" || seen.has(value)) return;
    seen.add(value);
    for (const v of Array.isArray(value) ? value : Object.values(value)) this.addUrlCredentials(v, seen);
  }

  get size(): number {
    return this.values.size;
  }

  private compiled(): RegExp | undefined {
    if (!this.dirty) return this.pattern;
    this.dirty = false;
    const forms = new Set<string>();
    const plain = [...this.values];
    const withPairs = [...plain];
    for (const a of plain) for (const b of plain) if (a !== b) withPairs.push(`${a}:${b}`);
    for (const v of withPairs) {
      forms.add(v);
      const encoded = encodeURIComponent(v);
      if (encoded !== v) forms.add(encoded);
      for (const b of base64Forms(v)) forms.add(b);
    }
    // Longest first, so a pair or an encoded form is masked whole rather than around a shorter member.
    const sorted = [...forms].sort((x, y) => y.length - x.length).map(escapeRegExp);
    this.pattern = sorted.length ? new RegExp(sorted.join("|"), "g") : undefined;
    return this.pattern;
  }

  /**
   * A server's text cut to at most `max` characters, masked before it is cut: a secret the cut would split leaves
   * no part of itself.
   */
  clip(text: string, max: number): string {
    const masked = this.redact(text);
    return masked.length > max ? `${masked.slice(0, max)}…` : masked;
  }

  /** The text with every secret form and URL user-info masked. */
  redact(text: string): string {
    const p = this.compiled();
    let out = text;
    if (p && out.length >= MIN_SECRET_LENGTH) out = out.replace(p, MASK);
    if (out.includes("://")) out = out.replace(URL_USERINFO, `$1${MASK}@`);
    return out;
  }

  /** A copy of a JSON-like value with every string redacted (objects and arrays copied, other values kept). */
  redactDeep<T>(value: T): T {
    if (typeof value === "string") return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T;
    if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactDeep(v);
      return out as T;
    }
    return value;
  }

  /**
   * Masks an error in place: its message, stack and every cause below it (a --debug stack trace prints them), so
   * the error keeps its class and fields (retryAfterMs, code) for whoever handles it.
   */
  redactError<E>(err: E, seen = new Set<unknown>()): E {
    if (!(err instanceof Error) || seen.has(err)) return err;
    seen.add(err);
    try {
      err.message = this.redact(err.message);
      if (err.stack) err.stack = this.redact(err.stack);
    } catch {
      // a frozen error keeps its text; nothing else can be done with it
    }
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) this.redactError(cause, seen);
    else if (typeof cause === "string") (err as { cause?: unknown }).cause = this.redact(cause);
    else if (cause && typeof cause === "object") (err as { cause?: unknown }).cause = this.redactDeep(cause);
    return err;
  }
}

/** The process's redactor: every secret the process holds is registered here. */
export const secretRedactor = new Redactor();

/** Masks secrets and URL user-info in a text with the process's redactor. */
export function redact(text: string): string {
  return secretRedactor.redact(text);
}

const REDACTING = Symbol("lake.redacting");

/**
 * Puts the redactor in front of a stream's write (the CLI's stdout and stderr): every line the process prints, its
 * own and any library's (console.error of an SDK included), is masked. Idempotent.
 */
export function redactStream(stream: NodeJS.WritableStream, redactor: Redactor = secretRedactor): void {
  const s = stream as NodeJS.WritableStream & { [REDACTING]?: boolean };
  if (s[REDACTING]) return;
  s[REDACTING] = true;
  const write = s.write.bind(s) as (chunk: unknown, ...rest: unknown[]) => boolean;
  s.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "string") return write(redactor.redact(chunk), ...rest);
    if (chunk instanceof Uint8Array) return write(redactor.redact(Buffer.from(chunk).toString("utf8")), ...rest.filter((r) => typeof r === "function"));
    return write(chunk, ...rest);
  }) as typeof s.write;
}

/** The process's stdout and stderr behind the redactor (the CLI does this first). */
export function redactProcessOutput(): void {
  redactStream(process.stdout);
  redactStream(process.stderr);
}
