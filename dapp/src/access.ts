// The sealed box that carries an order's access details from the provider's agent to the user
// (the browser side of node-agents/cli/src/access.rs).
//
// Byte 0 of a box is its version:
//   2: 0x02 || crypto_box_seal(plaintext, recipient_pk)   (libsodium's standard sealed box)
//   1: 0x01 || epk || XChaCha20-Poly1305(key, nonce, aad = 0x01, plaintext), where
//        shared = X25519(recipient_sk, epk)                  (all-zero refused)
//        key    = BLAKE2b-256("kaisar/access/v1/key"   || shared || epk || recipient_pk)
//        nonce  = BLAKE2b-192("kaisar/access/v1/nonce" || epk || recipient_pk)
// Both are opened here with libsodium primitives; the browser only ever opens (the agent seals),
// but `sealV2` exists for tests and for anyone who wants to try the format.
import sodium from "libsodium-wrappers";

export const VERSION_V1 = 1;
export const VERSION_V2 = 2;
/** Bytes a v1 box adds: version, ephemeral public key, Poly1305 tag. */
export const OVERHEAD_V1 = 1 + 32 + 16;
/** Bytes a v2 box adds: version byte + crypto_box_SEALBYTES (48). */
export const OVERHEAD_V2 = 1 + 48;

const KEY_DOMAIN = new TextEncoder().encode("kaisar/access/v1/key");
const NONCE_DOMAIN = new TextEncoder().encode("kaisar/access/v1/nonce");

export class AccessError extends Error {
  constructor(
    public readonly kind: "TooShort" | "UnknownVersion" | "WeakKey" | "Forged" | "BadKey",
    message: string,
  ) {
    super(message);
    this.name = "AccessError";
  }
}

/** An order's x25519 key pair (32-byte secret and public key). */
export interface AccessKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** libsodium must be initialised once before any other call. */
export async function ready(): Promise<void> {
  await sodium.ready;
}

/** A fresh random key pair for one order. */
export function generateKeyPair(): AccessKeyPair {
  const kp = sodium.crypto_box_keypair();
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/** The key pair of a 32-byte x25519 secret. */
export function keyPairFromSecret(secretKey: Uint8Array): AccessKeyPair {
  if (secretKey.length !== 32) throw new AccessError("BadKey", "an access secret key is 32 bytes");
  return { publicKey: sodium.crypto_scalarmult_base(secretKey), secretKey: Uint8Array.from(secretKey) };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function isAllZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

function deriveV1(shared: Uint8Array, epk: Uint8Array, recipient: Uint8Array) {
  const key = sodium.crypto_generichash(32, concat(KEY_DOMAIN, shared, epk, recipient), null);
  const nonce = sodium.crypto_generichash(24, concat(NONCE_DOMAIN, epk, recipient), null);
  return { key, nonce };
}

function x25519(secret: Uint8Array, pub: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = sodium.crypto_scalarmult(secret, pub);
  } catch {
    // libsodium refuses low-order points itself (all-zero result).
    throw new AccessError("WeakKey", "public key is a low-order point");
  }
  if (isAllZero(shared)) throw new AccessError("WeakKey", "public key is a low-order point");
  return shared;
}

/** Open a box of either version sealed to `keys`. Throws AccessError. */
export function open(keys: AccessKeyPair, sealed: Uint8Array): Uint8Array {
  if (sealed.length < 1) throw new AccessError("TooShort", "empty sealed box");
  switch (sealed[0]) {
    case VERSION_V1:
      return openV1(keys, sealed);
    case VERSION_V2:
      return openV2(keys, sealed);
    default:
      throw new AccessError("UnknownVersion", `unknown sealed box version ${sealed[0]}`);
  }
}

function openV1(keys: AccessKeyPair, sealed: Uint8Array): Uint8Array {
  if (sealed.length < OVERHEAD_V1)
    throw new AccessError("TooShort", `sealed box too short (${OVERHEAD_V1} bytes at least)`);
  const epk = sealed.subarray(1, 33);
  const shared = x25519(keys.secretKey, epk);
  const { key, nonce } = deriveV1(shared, epk, keys.publicKey);
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      sealed.subarray(33),
      new Uint8Array([VERSION_V1]),
      nonce,
      key,
    );
  } catch {
    throw new AccessError("Forged", "cannot open: sealed to another key, or altered in transit");
  }
}

function openV2(keys: AccessKeyPair, sealed: Uint8Array): Uint8Array {
  if (sealed.length < OVERHEAD_V2)
    throw new AccessError("TooShort", `sealed box too short (${OVERHEAD_V2} bytes at least)`);
  try {
    return sodium.crypto_box_seal_open(sealed.subarray(1), keys.publicKey, keys.secretKey);
  } catch {
    throw new AccessError("Forged", "cannot open: sealed to another key, or altered in transit");
  }
}

/** Seal with version 2 (what agents do); for tests. */
export function sealV2(recipientPk: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return concat(new Uint8Array([VERSION_V2]), sodium.crypto_box_seal(plaintext, recipientPk));
}

/** Seal with version 1 and a given ephemeral secret (tests: reproduces the Rust known answer). */
export function sealV1With(ephemeralSecret: Uint8Array, recipientPk: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const epk = sodium.crypto_scalarmult_base(ephemeralSecret);
  const shared = x25519(ephemeralSecret, recipientPk);
  const { key, nonce } = deriveV1(shared, epk, recipientPk);
  const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, new Uint8Array([VERSION_V1]), null, nonce, key);
  return concat(new Uint8Array([VERSION_V1]), epk, ct);
}

/** The decrypted access details of an order (node-agents/provider/src/agent.rs AccessDetails). */
export interface AccessDetails {
  order_id: number;
  host: string;
  ports: { container: number; host: number }[];
  token: string;
}

/** Open a box and parse its JSON access details; throws AccessError or a parse error. */
export function openAccessDetails(keys: AccessKeyPair, sealed: Uint8Array): AccessDetails {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(open(keys, sealed));
  const v = JSON.parse(text);
  if (typeof v !== "object" || v === null || typeof v.host !== "string" || !Array.isArray(v.ports))
    throw new Error("the access details are not in the expected format");
  return v as AccessDetails;
}

/** A short fingerprint of a public key: the first 8 bytes of its BLAKE2b-512, hex (as the CLI). */
export function fingerprint(publicKey: Uint8Array): string {
  return toHex(sodium.crypto_generichash(64, publicKey, null).subarray(0, 8));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex: string): Uint8Array {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || /[^0-9a-fA-F]/.test(h)) throw new Error("not a hex string");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
