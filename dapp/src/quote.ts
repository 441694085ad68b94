// The quote shown before paying: the runtime API `OrdersApi.quote` (pallet-orders), which
// answers exactly what `place_order` would do. A runtime without it (older than the API) gets an
// estimate computed here from the registry, clearly labelled as such.
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

export type QuoteAnswer =
  | { ok: true; quote: OrderQuote; source: "runtime" | "estimate" }
  | { ok: false; reason: string; source: "runtime" | "estimate" };

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

export async function getQuote(chain: Chain, q: QuoteRequest): Promise<QuoteAnswer> {
  if (chain.apis.has("OrdersApi")) {
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
    if (res.success) return { ok: true, quote: res.value, source: "runtime" };
    return { ok: false, reason: refusalText(chain, res.value), source: "runtime" };
  }
  // A runtime older than the quote API: an estimate from the registry, labelled as such.
  return estimate(chain, q);
}

async function estimate(chain: Chain, q: QuoteRequest): Promise<QuoteAnswer> {
  const api = chain.api;
  const [entries, points, maxDiscount, deposit, timeout, best] = await Promise.all([
    api.query.WorkerRegistry.Workers.getEntries({ at: "best" }),
    api.query.Points.PointsOf.getValue(q.who, { at: "best" }),
    api.constants.Orders.MaxDiscount(),
    api.constants.Orders.OrderDeposit(),
    api.constants.WorkerRegistry.HeartbeatTimeout(),
    chain.client.getBestBlocks(),
  ]);
  const now = best[0]?.number ?? 0;
  const fail = (reason: string): QuoteAnswer => ({ ok: false, reason, source: "estimate" });
  if (q.gpuCount < 1) return fail("The order would fail: Orders.InvalidGpuCount: `gpu_count` is zero.");
  const ofModel = entries.filter((e) => e.value.spec.gpus[0]?.model.type === q.model);
  const takes = (w: (typeof entries)[number]["value"]) =>
    w.status.type === "Active" && !w.paused && now - w.last_heartbeat <= Number(timeout);
  let candidates = ofModel.filter((e) => takes(e.value));
  if (q.target !== undefined) {
    const t = entries.find((e) => e.keyArgs[0] === q.target);
    if (!t) return fail("The order would fail: Orders.WorkerNotFound: the worker does not exist.");
    if (t.value.spec.gpus[0]?.model.type !== q.model) return fail("The order would fail: Orders.GpuModelMismatch: the target worker has another GPU model.");
    if (t.value.paused) return fail("The order would fail: Orders.WorkerPaused: the target worker's provider paused it.");
    if (t.value.status.type !== "Active") return fail("The order would fail: Orders.WorkerNotActive: the target worker is not Active.");
    candidates = [t];
  }
  if (candidates.length === 0) return fail("No worker of this GPU model is registered and active.");
  const free = (w: (typeof entries)[number]["value"]) => w.spec.gpus.length - w.reserved_gpus;
  const withGpus = candidates.filter((e) => free(e.value) >= q.gpuCount);
  if (withGpus.length === 0)
    return fail(candidates.every((e) => free(e.value) === 0) ? "Every worker of this model is busy (no free GPUs right now)." : "No worker of this model has that many free GPUs.");
  const affordable = withGpus.filter((e) => e.value.spec.price_per_gpu_hour <= q.maxPrice);
  if (affordable.length === 0) {
    const lowest = withGpus.reduce((m, e) => (e.value.spec.price_per_gpu_hour < m ? e.value.spec.price_per_gpu_hour : m), withGpus[0].value.spec.price_per_gpu_hour);
    return fail(`Your maximum price is below every matching worker's: the lowest is ${fmtTokens(lowest)} per GPU-hour.`);
  }
  affordable.sort((a, b) => (a.value.spec.price_per_gpu_hour < b.value.spec.price_per_gpu_hour ? -1 : a.value.spec.price_per_gpu_hour > b.value.spec.price_per_gpu_hour ? 1 : Number(a.keyArgs[0] - b.keyArgs[0])));
  const w = affordable[0];
  const price = w.value.spec.price_per_gpu_hour;
  const bph = BigInt(chain.blocksPerHour);
  const num = price * BigInt(q.gpuCount) * BigInt(q.duration);
  const total = (num + bph - 1n) / bph;
  const cap = (total * BigInt(maxDiscount)) / 1_000_000_000n;
  let spent = q.maxPoints < points ? q.maxPoints : points;
  if (spent > cap) spent = cap;
  return {
    ok: true,
    source: "estimate",
    quote: {
      worker: w.keyArgs[0],
      provider: w.value.provider,
      price_per_gpu_hour: price,
      total_cost: total,
      points_spent: spent,
      discount: spent,
      user_pays: total - spent,
      deposit,
    },
  };
}
