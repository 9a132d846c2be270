/**
 * Encryption at rest (AES-256-GCM, node:crypto) for lake objects that hold personal data. An encrypted object is
 * `LAKEAES1` + 12-byte IV + 16-byte tag + ciphertext: whether an object is encrypted is read from its header, never
 * guessed, and a wrong key or a changed byte fails loudly (the GCM tag) instead of returning nothing.
 * The key is 32 bytes, given as 64 hex digits or base64 (the secret LAKE_ENCRYPTION_KEY).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ConfigError, TerminalError } from "../support/errors.js";

export const ENCRYPTION_KEY_SECRET = "LAKE_ENCRYPTION_KEY";
const MAGIC = Buffer.from("LAKEAES1", "ascii");
const IV = 12;
const TAG = 16;

/** The 32-byte key of a secret's text (64 hex digits or base64); `name` is the secret's, for the message. */
export function parseKey(text: string, name = ENCRYPTION_KEY_SECRET): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (key.length !== 32) throw new ConfigError(`${name} must be 32 bytes: 64 hex digits or 44 base64 characters (e.g. openssl rand -base64 32)`);
  return key;
}

/** Bytes an object's start must hold to tell whether it is encrypted (see startsEncrypted). */
export const ENCRYPTION_HEADER_BYTES = MAGIC.length;

/** Whether bytes that begin an object (at least ENCRYPTION_HEADER_BYTES of them) begin an encrypted one. */
export function startsEncrypted(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && Buffer.from(head.buffer, head.byteOffset, MAGIC.length).equals(MAGIC);
}

export function isEncrypted(body: Uint8Array): boolean {
  return body.length >= MAGIC.length + IV + TAG && startsEncrypted(body);
}

export function encrypt(body: Uint8Array, key: Buffer): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const data = Buffer.concat([cipher.update(body), cipher.final()]);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), data]);
}

export function decrypt(body: Uint8Array, key: Buffer, what: string, keyName = ENCRYPTION_KEY_SECRET): Buffer {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (!isEncrypted(buf)) throw new TerminalError(`${what}: not an encrypted lake object`);
  const iv = buf.subarray(MAGIC.length, MAGIC.length + IV);
  const tag = buf.subarray(MAGIC.length + IV, MAGIC.length + IV + TAG);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(buf.subarray(MAGIC.length + IV + TAG)), decipher.final()]);
  } catch {
    throw new TerminalError(`${what}: cannot decrypt (wrong ${keyName}, or the object was changed)`);
  }
}
