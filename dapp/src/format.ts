// Amounts, durations and small helpers shared by the pages.

export let DECIMALS = 18;
export let SYMBOL = "KAI";

let SS58 = 42;

export function setTokenFormat(decimals: number, symbol: string, ss58 = 42) {
  DECIMALS = decimals;
  SYMBOL = symbol;
  SS58 = ss58;
}

/** The chain's SS58 address format (its chain spec's `ss58Format`, 42 by default). */
export function ss58Prefix(): number {
  return SS58;
}

/** `12.5 KAI`: up to `maxFrac` fractional digits, trailing zeros dropped. */
export function fmtTokens(v: bigint | undefined | null, maxFrac = 4, symbol = SYMBOL): string {
  if (v === undefined || v === null) return "–";
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const unit = 10n ** BigInt(DECIMALS);
  const whole = abs / unit;
  let frac = (abs % unit).toString().padStart(DECIMALS, "0").slice(0, maxFrac).replace(/0+$/, "");
  if (frac === "" && abs % unit !== 0n && whole === 0n) {
    // Smaller than the digits shown: say so instead of printing 0.
    return `${neg ? "-" : ""}<0.${"0".repeat(Math.max(0, maxFrac - 1))}1 ${symbol}`.trim();
  }
  return `${neg ? "-" : ""}${whole.toLocaleString("en-US")}${frac ? "." + frac : ""} ${symbol}`.trim();
}

/** Points (the Kaisar runtime: 1 point per token base unit) shown like tokens, without the symbol. */
export function fmtPoints(v: bigint | undefined | null): string {
  return fmtTokens(v, 4, "points");
}

/** Parse a decimal amount (`6`, `0.25`) to base units; throws on bad input. */
export function parseTokens(text: string): bigint {
  const t = text.trim();
  if (!/^\d+(\.\d+)?$/.test(t)) throw new Error(`"${text}" is not an amount (e.g. 6 or 0.25)`);
  const [w, f = ""] = t.split(".");
  if (f.length > DECIMALS) throw new Error(`at most ${DECIMALS} decimals`);
  return BigInt(w) * 10n ** BigInt(DECIMALS) + BigInt(f.padEnd(DECIMALS, "0") || "0");
}

/** A duration in blocks as words (`2 h 5 min`), given the chain's block time. */
export function fmtBlocks(blocks: number, msPerBlock: number): string {
  if (blocks <= 0) return "now";
  const secs = Math.round((blocks * msPerBlock) / 1000);
  if (secs < 60) return `${secs} s`;
  const mins = Math.floor(secs / 60);
  if (mins < 60) return `${mins} min${secs % 60 ? ` ${secs % 60} s` : ""}`;
  const h = Math.floor(mins / 60);
  if (h < 48) return `${h} h${mins % 60 ? ` ${mins % 60} min` : ""}`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function shortAddr(a: string | undefined): string {
  if (!a) return "–";
  return a.length > 14 ? `${a.slice(0, 6)}…${a.slice(-6)}` : a;
}

export function bytesToText(b: Uint8Array | string | undefined): string {
  if (b === undefined) return "";
  if (typeof b === "string") return b;
  return new TextDecoder().decode(b);
}

/** Perbill (parts per billion) as a percentage. */
export function fmtPerbill(p: number): string {
  return `${(p / 1e7).toFixed(7).replace(/\.?0+$/, "")}%`;
}

/** A percentage (`2.5`, `2.5%`) as Perbill. */
export function parsePercent(text: string): number {
  const t = text.trim().replace(/%$/, "");
  if (!/^\d+(\.\d{1,7})?$/.test(t)) throw new Error(`"${text}" is not a percentage (up to 7 decimals)`);
  const v = Math.round(parseFloat(t) * 1e7);
  if (v > 1e9) throw new Error("at most 100%");
  return v;
}

export function enumType(e: unknown): string {
  return typeof e === "object" && e !== null && "type" in e ? String((e as { type: unknown }).type) : String(e);
}

/** Words for the GPU model enum variants (and back). */
export const GPU_MODELS = [
  "RtxA4000", "Rtx3090", "Rtx4090", "Rtx5090", "L4", "L40S", "A10",
  "A100Pcie40G", "A100Sxm80G", "H100Pcie", "H100Sxm", "H200", "DevCpu",
] as const;
export type GpuModelName = (typeof GPU_MODELS)[number];
