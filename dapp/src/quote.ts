// The quote shown before paying: the runtime API `OrdersApi.quote` (pallet-orders), a dry run of
// `place_order` that answers exactly what the order would do now, or why it would not be placed.
import type { Chain } from "./chain.ts";
import { dispatchErrorText } from "./chain.ts";
import { fmtTokens, type GpuModelName } from "./format.ts";

export interface OrderQuote {
  worker: bigint;
  provider: string;
  price_per_gpu_hour: bigint;
  total_cost: bigint;
  points_spent: bigint;
  discount: bigint;
  user_pays: bigint;
  deposit: bigint;
}

export interface QuoteRequest {
  who: string;
  model: GpuModelName;
  gpuCount: number;
  duration: number; // blocks
  maxPrice: bigint;
  maxPoints: bigint;
  target?: bigint;
}

export type QuoteAnswer = { ok: true; quote: OrderQuote } | { ok: false; reason: string };

/** A QuoteRefusal in words. */
export function refusalText(chain: Chain, r: any): string {
  switch (r?.type) {
    case "NoWorkerOfModel":
      return "No worker of this GPU model is registered and active.";
    case "AllBusy":
      return "Every worker of this model is busy (no free GPUs right now).";
    case "NotEnoughFreeGpus":
      return "No worker of this model has that many free GPUs.";
    case "PriceTooLow":
      return `Your maximum price is below every matching worker's: the lowest is ${fmtTokens(
        BigInt(r.value?.lowest_price ?? 0),
      )} per GPU-hour.`;
    case "Refused":
      return `The order would fail: ${dispatchErrorText(chain, r.value)}`;
    default:
      return `Refused: ${r?.type ?? JSON.stringify(r)}`;
  }
}

/**
 * The chain's quote. A runtime without `OrdersApi` (older than the quote) gets no order from
 * this dApp: the answer says so instead of guessing the chain's matching and pricing here.
 */
export async function getQuote(chain: Chain, q: QuoteRequest): Promise<QuoteAnswer> {
  if (!chain.apis.has("OrdersApi")) {
    return {
      ok: false,
      reason: "This chain's runtime has no quote API (OrdersApi.quote); it is older than this dApp, which orders only on a quote from the chain.",
    };
  }
  const res = await chain.api.apis.OrdersApi.quote(
    q.who,
    { type: q.model, value: undefined } as any,
    q.gpuCount,
    q.duration,
    q.maxPrice,
    q.maxPoints,
    q.target,
    { at: "best" },
  );
  if (res.success) return { ok: true, quote: res.value };
  return { ok: false, reason: refusalText(chain, res.value) };
}
