// The sealed box against the Rust side's known answers (node-agents/cli/src/access.rs tests).
// Run: npm run test:unit
import { test } from "node:test";
import assert from "node:assert/strict";
import sodium from "libsodium-wrappers";
import {
  AccessError,
  fingerprint,
  fromHex,
  keyPairFromSecret,
  open,
  openAccessDetails,
  ready,
  sealV1With,
  sealV2,
  toHex,
  generateKeyPair,
} from "../../src/access.ts";

// access.rs `known_answer_is_stable`: user secret [7; 32], ephemeral secret [9; 32], plaintext
// "hi" (also reproduced by node-agents/cli/tools/access_kat.py).
const KNOWN_BOX_V1 =
  "0157db4b359f23ae5e146e4e2512056704722506348c150c14753d0c933d04d4" +
  "2160b04ab7f3222385ce91a41cbb4759de1396";

const fill = (b: number) => new Uint8Array(32).fill(b);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

test("v1: the Rust known-answer box opens to 'hi' with the user's key", async () => {
  await ready();
  const user = keyPairFromSecret(fill(7));
  assert.equal(dec(open(user, fromHex(KNOWN_BOX_V1))), "hi");
});

test("v1: sealing with the Rust test's keys reproduces the known answer byte for byte", async () => {
  await ready();
  const user = keyPairFromSecret(fill(7));
  assert.equal(toHex(sealV1With(fill(9), user.publicKey, enc("hi"))), KNOWN_BOX_V1);
  assert.equal(fingerprint(user.publicKey).length, 16);
});

test("v1: every single tampered byte is refused", async () => {
  await ready();
  const user = keyPairFromSecret(fill(7));
  const box = fromHex(KNOWN_BOX_V1);
  for (let i = 1; i < box.length; i++) {
    const bad = Uint8Array.from(box);
    bad[i] ^= 0x01;
    assert.throws(() => open(user, bad), AccessError, `byte ${i}`);
  }
});

test("v1: another key, truncation and extension are refused", async () => {
  await ready();
  const box = fromHex(KNOWN_BOX_V1);
  assert.throws(() => open(keyPairFromSecret(fill(8)), box), (e: AccessError) => e.kind === "Forged");
  const user = keyPairFromSecret(fill(7));
  assert.throws(() => open(user, box.subarray(0, 40)), (e: AccessError) => e.kind === "TooShort");
  assert.throws(() => open(user, box.subarray(0, box.length - 1)), (e: AccessError) => e.kind === "Forged");
  const longer = new Uint8Array(box.length + 1);
  longer.set(box);
  assert.throws(() => open(user, longer), (e: AccessError) => e.kind === "Forged");
});

test("v1: a low-order ephemeral key is refused", async () => {
  await ready();
  const user = keyPairFromSecret(fill(7));
  const box = fromHex(KNOWN_BOX_V1);
  box.fill(0, 1, 33);
  assert.throws(() => open(user, box), (e: AccessError) => e.kind === "WeakKey");
});

test("unknown versions and empty boxes are refused", async () => {
  await ready();
  const user = keyPairFromSecret(fill(7));
  const box = fromHex(KNOWN_BOX_V1);
  box[0] = 0x41;
  assert.throws(() => open(user, box), (e: AccessError) => e.kind === "UnknownVersion");
  assert.throws(() => open(user, new Uint8Array()), (e: AccessError) => e.kind === "TooShort");
});

// Version 2 = 0x02 || crypto_box_seal(m, pk): access.rs `KNOWN_BOX_V2` (user secret [7; 32],
// ephemeral secret [9; 32], "hi"). crypto_box_seal picks a random ephemeral key, so here the box
// is rebuilt from its definition: epk || crypto_box_easy(m, nonce, pk, esk) with
// nonce = BLAKE2b-192(epk || pk), and must equal the Rust side's bytes.
const KNOWN_BOX_V2 =
  "0257db4b359f23ae5e146e4e2512056704722506348c150c14753d0c933d04d4" +
  "216d83b30ac372d90f0d593819d99b7fa04bf8";

test("v2: the Rust known-answer box (crypto_box_seal with fixed keys) is reproduced and opens", async () => {
  await ready();
  const user = keyPairFromSecret(fill(7));
  const esk = fill(9);
  const epk = sodium.crypto_scalarmult_base(esk);
  const nonce = sodium.crypto_generichash(24, new Uint8Array([...epk, ...user.publicKey]), null);
  const body = sodium.crypto_box_easy(enc("hi"), nonce, user.publicKey, esk);
  const box = new Uint8Array([2, ...epk, ...body]);
  assert.equal(toHex(box), KNOWN_BOX_V2);
  assert.equal(dec(open(user, box)), "hi");
});

test("v2: libsodium's crypto_box_seal round trip; wrong key, tampering and truncation refused", async () => {
  await ready();
  const user = generateKeyPair();
  const details = enc(JSON.stringify({ order_id: 3, host: "127.0.0.1", ports: [{ container: 8080, host: 41000 }], token: "t0k" }));
  const box = sealV2(user.publicKey, details);
  assert.equal(box[0], 2);
  assert.equal(box.length, details.length + 49);
  const opened = openAccessDetails(user, box);
  assert.deepEqual(opened, { order_id: 3, host: "127.0.0.1", ports: [{ container: 8080, host: 41000 }], token: "t0k" });
  assert.throws(() => open(generateKeyPair(), box), (e: AccessError) => e.kind === "Forged");
  for (let i = 1; i < box.length; i++) {
    const bad = Uint8Array.from(box);
    bad[i] ^= 0x80;
    assert.throws(() => open(user, bad), AccessError, `byte ${i}`);
  }
  assert.throws(() => open(user, box.subarray(0, 48)), (e: AccessError) => e.kind === "TooShort");
});

test("keys: a pair survives a round trip through its secret", async () => {
  await ready();
  const kp = generateKeyPair();
  const again = keyPairFromSecret(kp.secretKey);
  assert.equal(toHex(again.publicKey), toHex(kp.publicKey));
});
