/**
 * Servers that answer every request with an error that echoes the request back: the worst case for secrets, a
 * server (or a proxy in front of it) that copies the credentials it was sent into its error message. Each listens on
 * 127.0.0.1 on a random port and records what it received (`requests`), so a test can also check what reached it.
 *
 * - httpEcho: HTTP or HTTPS (the fake TLS material of socrata-fake.ts, for soda-js). The error body echoes the
 *   method, the secret-carrying headers, the URL, every header and the body: as JSON `{message, code, details, hint}`
 *   (PostgREST, Knack, Socrata, webhooks), or as an S3 XML `<Error>` for the AWS SDK. `okHead` answers HEAD with 200
 *   (the S3 driver's bucket check) so the SDK reaches a request whose error it parses. `answer` overrides the reply
 *   (a webhook target that accepts).
 * - pgEcho: the PostgreSQL wire protocol: a startup message is answered with a cleartext-password request, and the
 *   password with a FATAL ErrorResponse (28P01) whose message echoes the user, the password and the startup
 *   parameters.
 * - redisEcho: RESP: every command (AUTH, HELLO, INFO, CLIENT, SELECT, QUIT, …) is answered with an error echoing its
 *   arguments.
 * - tdsEcho (MS SQL): TDS: PRELOGIN is answered "encryption not supported", LOGIN7 with an ERROR token (login failed,
 *   18456) that echoes the user name, the password (decoded from LOGIN7's obfuscation) and the database; any other
 *   packet is echoed back byte for byte, then the connection is closed.
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fakeTlsMaterial } from "./socrata-fake.js";

export interface EchoRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface EchoServer {
  /** host:port */
  readonly host: string;
  readonly port: number;
  /** http(s)://127.0.0.1:port (httpEcho), else the host. */
  readonly url: string;
  /** What was received (HTTP requests; for the other protocols one line per message). */
  readonly requests: EchoRequest[];
  /** The certificate an HTTPS echo serves (the client process must trust it: NODE_EXTRA_CA_CERTS). */
  readonly certPath?: string;
  close(): Promise<void>;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function track(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("secureConnection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return sockets;
}

// ---------------------------------------------------------------- HTTP

export interface HttpEchoOptions {
  /** Status of the error answer. @default 400 */
  status?: number;
  /** json (default) or s3 (an S3 XML error). */
  format?: "json" | "s3";
  /** HTTPS with the fake TLS material (SOCRATA_FAKE_CERT / _KEY; trusted through NODE_EXTRA_CA_CERTS). */
  tls?: boolean;
  /** Answer HEAD with 200 and no body. */
  okHead?: boolean;
  /** Replaces the error answer: status and JSON body (e.g. a webhook target that accepts the POST). */
  answer?: (req: EchoRequest) => { status: number; body: unknown } | undefined;
}

const FIRST_HEADERS = ["x-amz-security-token", "x-app-token", "x-knack-application-id", "x-knack-rest-api-key", "x-lake-token", "apikey", "authorization"];

/** The echo text: the secret-carrying headers first (a server's error body is cut short by the client). */
export function echoText(r: EchoRequest): string {
  const first = FIRST_HEADERS.filter((h) => r.headers[h] !== undefined).map((h) => `${h}: ${r.headers[h]}`);
  return `echo of ${r.method} | ${first.join(" | ")} | url ${r.url} | headers ${JSON.stringify(r.headers)} | body ${r.body.slice(0, 4000)}`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export async function httpEcho(opts: HttpEchoOptions = {}): Promise<EchoServer> {
  const requests: EchoRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      const r: EchoRequest = { method: req.method ?? "GET", url: req.url ?? "/", headers, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(r);
      if (opts.okHead && r.method === "HEAD") {
        res.writeHead(200, { "content-length": "0" }).end();
        return;
      }
      const custom = opts.answer?.(r);
      if (custom) {
        res.writeHead(custom.status, { "content-type": "application/json" }).end(JSON.stringify(custom.body));
        return;
      }
      const status = opts.status ?? 400;
      const text = echoText(r);
      if (opts.format === "s3") {
        const xml =
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidRequest</Code><Message>${xmlEscape(text)}</Message>` +
          `<Resource>${xmlEscape(r.url)}</Resource><RequestId>echo</RequestId></Error>`;
        res.writeHead(status, { "content-type": "application/xml", "x-amz-request-id": "echo" }).end(xml);
        return;
      }
      const body = { message: text, code: "ECHO", details: JSON.stringify(r.headers), hint: r.body.slice(0, 2000), errors: [{ message: text }] };
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
  };
  let server: http.Server | https.Server;
  let certPath: string | undefined;
  if (opts.tls) {
    const material = fakeTlsMaterial();
    const { cert, key } = material;
    certPath = material.certPath;
    server = https.createServer({ cert, key }, handler);
    server.on("tlsClientError", () => undefined);
  } else {
    server = http.createServer(handler);
  }
  const sockets = track(server);
  const port = await listen(server);
  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    ...(certPath ? { certPath } : {}),
    close: closer(server, sockets),
  };
}

// ---------------------------------------------------------------- PostgreSQL

function pgMessage(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(payload.length + 4, 1);
  return Buffer.concat([head, payload]);
}

function pgError(message: string): Buffer {
  const fields = [["S", "FATAL"], ["V", "FATAL"], ["C", "28P01"], ["M", message]]
    .map(([k, v]) => Buffer.concat([Buffer.from(k!, "latin1"), Buffer.from(v!, "utf8"), Buffer.from([0])]));
  return pgMessage("E", Buffer.concat([...fields, Buffer.from([0])]));
}

export async function pgEcho(): Promise<EchoServer> {
  const requests: EchoRequest[] = [];
  const server = net.createServer((socket) => {
    let buf: Buffer = Buffer.alloc(0);
    let started = false;
    let params: Record<string, string> = {};
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const len = buf.readInt32BE(0);
          if (buf.length < len) return;
          const code = buf.readInt32BE(4);
          const body = buf.subarray(8, len);
          buf = buf.subarray(len);
          if (code === 80877103 || code === 80877104) {
            socket.write("N"); // no SSL, no GSS encryption
            continue;
          }
          if (code === 80877102) {
            socket.end(); // a cancel request
            return;
          }
          const parts = body.toString("utf8").split("\0");
          params = {};
          for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) params[parts[i]!] = parts[i + 1]!;
          requests.push({ method: "startup", url: "", headers: params, body: "" });
          started = true;
          socket.write(pgMessage("R", Buffer.from([0, 0, 0, 3]))); // AuthenticationCleartextPassword
          continue;
        }
        if (buf.length < 5) return;
        const type = String.fromCharCode(buf[0]!);
        const len = buf.readInt32BE(1);
        if (buf.length < len + 1) return;
        const body = buf.subarray(5, len + 1);
        buf = buf.subarray(len + 1);
        if (type === "p") {
          const password = body.toString("utf8").replace(/\0$/, "");
          requests.push({ method: "password", url: "", headers: params, body: password });
          socket.end(
            pgError(
              `password authentication failed for user "${params.user ?? ""}": echo of the login: password "${password}", ` +
                `database "${params.database ?? ""}", startup ${JSON.stringify(params)}`,
            ),
          );
          return;
        }
        socket.end(pgError(`echo of message ${type}: ${body.toString("utf8")}`));
        return;
      }
    });
  });
  const sockets = track(server);
  const port = await listen(server);
  return { host: `127.0.0.1:${port}`, port, url: `127.0.0.1:${port}`, requests, close: closer(server, sockets) };
}

// ---------------------------------------------------------------- Redis

/** Parses RESP arrays of bulk strings (and inline commands) off the front of buf; returns the commands and the rest. */
function parseResp(buf: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let at = 0;
  const line = (from: number): { text: string; next: number } | undefined => {
    const end = buf.indexOf("\r\n", from);
    return end < 0 ? undefined : { text: buf.toString("utf8", from, end), next: end + 2 };
  };
  outer: while (at < buf.length) {
    if (buf[at] !== 0x2a /* * */) {
      const l = line(at);
      if (!l) break;
      commands.push(l.text.split(" "));
      at = l.next;
      continue;
    }
    const head = line(at);
    if (!head) break;
    const n = Number(head.text.slice(1));
    let p = head.next;
    const args: string[] = [];
    for (let i = 0; i < n; i++) {
      const len = line(p);
      if (!len) break outer;
      const size = Number(len.text.slice(1));
      if (buf.length < len.next + size + 2) break outer;
      args.push(buf.toString("utf8", len.next, len.next + size));
      p = len.next + size + 2;
    }
    commands.push(args);
    at = p;
  }
  return { commands, rest: buf.subarray(at) };
}

export async function redisEcho(): Promise<EchoServer> {
  const requests: EchoRequest[] = [];
  const server = net.createServer((socket) => {
    let buf: Buffer = Buffer.alloc(0);
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const { commands, rest } = parseResp(buf);
      buf = rest;
      for (const args of commands) {
        requests.push({ method: String(args[0] ?? ""), url: "", headers: {}, body: args.join(" ") });
        const text = `ERR echo of ${args.map((a) => JSON.stringify(a)).join(" ")}`.replace(/[\r\n]/g, " ");
        socket.write(`-${text}\r\n`);
        if (String(args[0]).toUpperCase() === "QUIT") socket.end();
      }
    });
  });
  const sockets = track(server);
  const port = await listen(server);
  return { host: `127.0.0.1:${port}`, port, url: `redis://127.0.0.1:${port}`, requests, close: closer(server, sockets) };
}

// ---------------------------------------------------------------- MS SQL (TDS)

function tdsPacket(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = type;
  head[1] = 0x01; // end of message
  head.writeUInt16BE(payload.length + 8, 2);
  head.writeUInt16BE(0, 4);
  head[6] = 1;
  head[7] = 0;
  return Buffer.concat([head, payload]);
}

function preloginResponse(): Buffer {
  // Options: VERSION (6 bytes), ENCRYPTION (1: NOT_SUP), INSTOPT (1), THREADID (0), MARS (1), then the terminator.
  const options: [number, Buffer][] = [
    [0x00, Buffer.from([15, 0, 0x07, 0xd0, 0, 0])],
    [0x01, Buffer.from([0x02])],
    [0x02, Buffer.from([0x00])],
    [0x03, Buffer.alloc(0)],
    [0x04, Buffer.from([0x00])],
  ];
  const headerLen = options.length * 5 + 1;
  const head = Buffer.alloc(headerLen);
  let offset = headerLen;
  options.forEach(([token, data], i) => {
    head[i * 5] = token;
    head.writeUInt16BE(offset, i * 5 + 1);
    head.writeUInt16BE(data.length, i * 5 + 3);
    offset += data.length;
  });
  head[headerLen - 1] = 0xff;
  return Buffer.concat([head, ...options.map(([, d]) => d)]);
}

/** LOGIN7 strings: UCS-2 at (offset, length in characters) pairs; the password is nibble-swapped and XORed with 0xA5. */
function login7Fields(p: Buffer): { user: string; password: string; database: string; host: string; app: string } {
  const str = (at: number, decode = false) => {
    const off = p.readUInt16LE(at);
    const len = p.readUInt16LE(at + 2) * 2;
    const bytes = Buffer.from(p.subarray(off, off + len));
    if (decode) {
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]! ^ 0xa5;
        bytes[i] = ((b & 0x0f) << 4) | (b >> 4);
      }
    }
    return bytes.toString("utf16le");
  };
  return { host: str(36), user: str(40), password: str(44, true), app: str(48), database: str(68) };
}

function tdsLoginError(message: string): Buffer {
  const text = Buffer.from(message, "utf16le");
  const server = Buffer.from("echo", "utf16le");
  const body = Buffer.concat([
    Buffer.from(Uint32Array.of(18456).buffer), // number
    Buffer.from([1, 14]), // state, class
    Buffer.from(Uint16Array.of(message.length).buffer),
    text,
    Buffer.from([4]),
    server,
    Buffer.from([0]), // procedure name
    Buffer.from(Uint32Array.of(1).buffer), // line number
  ]);
  const error = Buffer.concat([Buffer.from([0xaa]), Buffer.from(Uint16Array.of(body.length).buffer), body]);
  const done = Buffer.concat([Buffer.from([0xfd]), Buffer.from(Uint16Array.of(0x0002).buffer), Buffer.alloc(2), Buffer.alloc(8)]);
  return tdsPacket(0x04, Buffer.concat([error, done]));
}

export async function tdsEcho(): Promise<EchoServer> {
  const requests: EchoRequest[] = [];
  const server = net.createServer((socket) => {
    let buf: Buffer = Buffer.alloc(0);
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 8) {
        const len = buf.readUInt16BE(2);
        if (buf.length < len) return;
        const type = buf[0]!;
        const payload = buf.subarray(8, len);
        const packet = buf.subarray(0, len);
        buf = buf.subarray(len);
        if (type === 0x12) {
          requests.push({ method: "prelogin", url: "", headers: {}, body: payload.toString("hex") });
          socket.write(tdsPacket(0x04, preloginResponse()));
          continue;
        }
        if (type === 0x10) {
          const f = login7Fields(payload);
          requests.push({ method: "login7", url: "", headers: { user: f.user, database: f.database }, body: f.password });
          socket.end(
            tdsLoginError(`Login failed for user '${f.user}'. Echo of the login: password '${f.password}', database '${f.database}', host '${f.host}', app '${f.app}'.`),
          );
          return;
        }
        requests.push({ method: `packet ${type}`, url: "", headers: {}, body: payload.toString("hex") });
        socket.end(packet); // anything else: the bytes back, then close
        return;
      }
    });
  });
  const sockets = track(server);
  const port = await listen(server);
  return { host: `127.0.0.1:${port}`, port, url: `127.0.0.1:${port}`, requests, close: closer(server, sockets) };
}
