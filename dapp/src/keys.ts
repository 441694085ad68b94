// The access keys of orders: one fresh x25519 key pair per order, generated in the browser and
// kept in localStorage (matched to orders by public key, like the CLI's key directory), with
// export and import in the CLI's key-file format (docs/cli.md).
import { fromHex, generateKeyPair, keyPairFromSecret, toHex, type AccessKeyPair } from "./access.ts";

export interface StoredKey {
  public: string; // hex, no 0x
  secret: string; // hex
  order?: string; // order id once known
  account: string;
  chain: string; // genesis hash
  created: number;
}

const KEY = "kaisar.accessKeys";

function load(): StoredKey[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function save(keys: StoredKey[]) {
  localStorage.setItem(KEY, JSON.stringify(keys));
}

/** Generate and store a key for an order about to be placed (before signing: nothing is lost). */
export function newOrderKey(account: string, chain: string): AccessKeyPair {
  const kp = generateKeyPair();
  const keys = load();
  keys.push({ public: toHex(kp.publicKey), secret: toHex(kp.secretKey), account, chain, created: Date.now() });
  save(keys);
  return kp;
}

export function assignOrder(publicHex: string, order: bigint) {
  const pk = publicHex.replace(/^0x/, "").toLowerCase();
  save(load().map((k) => (k.public === pk ? { ...k, order: order.toString() } : k)));
}

export function forgetKey(publicHex: string) {
  const pk = publicHex.replace(/^0x/, "").toLowerCase();
  save(load().filter((k) => k.public !== pk));
}

/** The key pair whose public key is `publicHex` (an order's `user_public_key`), if kept here. */
export function keyFor(publicHex: string): AccessKeyPair | undefined {
  const pk = publicHex.replace(/^0x/, "").toLowerCase();
  const k = load().find((x) => x.public === pk);
  return k ? keyPairFromSecret(fromHex(k.secret)) : undefined;
}

export function allKeys(): StoredKey[] {
  return load();
}

/** One key in the CLI's file format. */
export function keyFileText(k: StoredKey): string {
  return [
    "# Kaisar order access key (x25519). Keep this file private.",
    `order=${k.order ?? ""}`,
    `public=${k.public}`,
    `secret=${k.secret}`,
    "",
  ].join("\n");
}

/** Offer keys as a file download (one key file, or all of them concatenated). */
export function exportKeys(keys: StoredKey[], name: string) {
  const text = keys.map(keyFileText).join("\n");
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Import key files (CLI format, one or several concatenated). Returns how many were added. */
export function importKeyText(text: string, account: string, chain: string): number {
  const keys = load();
  let added = 0;
  for (const block of text.split(/(?=^# Kaisar order access key)/m)) {
    const secret = /^secret=([0-9a-fA-F]{64})$/m.exec(block)?.[1];
    if (!secret) continue;
    const kp = keyPairFromSecret(fromHex(secret));
    const pub = toHex(kp.publicKey);
    if (keys.some((k) => k.public === pub)) continue;
    const order = /^order=(\d+)$/m.exec(block)?.[1];
    keys.push({ public: pub, secret: secret.toLowerCase(), order, account, chain, created: Date.now() });
    added++;
  }
  save(keys);
  return added;
}
