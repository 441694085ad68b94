// Users: the marketplace of workers and ordering with a quote.
import { useState } from "preact/hooks";
import type { Chain } from "../chain.ts";
import { bytesToText, enumType, fmtBlocks, fmtTokens, GPU_MODELS, parseTokens, type GpuModelName } from "../format.ts";
import { ActionButton, Card, Field, NeedChain, useLive } from "../ui.tsx";
import { useStore } from "../store.ts";
import { wallet } from "../wallet.ts";
import { getQuote, type QuoteAnswer, type QuoteRequest } from "../quote.ts";
import { assignOrder, forgetKey, newOrderKey } from "../keys.ts";
import { toHex } from "../access.ts";
import { findEvents, sendTx } from "../tx.ts";

export interface WorkerRow {
  id: bigint;
  provider: string;
  model: string;
  gpus: number;
  free: number;
  vram: number;
  price: bigint;
  region: string;
  status: string;
  paused: boolean;
  lastHeartbeat: number;
  deposit: bigint;
  unlockAt?: number;
  agent: string;
  endpoint: string;
  throughput?: bigint;
  failures?: number;
  lastPassed?: number;
  verdict?: { epoch: number; outcome: string; pass: number; votes: number; silent: number };
}

/** Every worker with what the checking pallet knows of it. */
export async function loadWorkers(chain: Chain): Promise<WorkerRow[]> {
  const api = chain.api;
  const hasPopw = chain.pallets.has("PopwAttestations");
  const [workers, states, verdicts] = await Promise.all([
    api.query.WorkerRegistry.Workers.getEntries({ at: "best" }),
    hasPopw ? api.query.PopwAttestations.WorkerStates.getEntries({ at: "best" }) : Promise.resolve([]),
    hasPopw ? api.query.PopwAttestations.LastVerdicts.getEntries({ at: "best" }) : Promise.resolve([]),
  ]);
  const stateOf = new Map(states.map((s) => [s.keyArgs[0], s.value]));
  const verdictOf = new Map(verdicts.map((v) => [v.keyArgs[0], v.value]));
  return workers
    .map(({ keyArgs: [id], value: w }) => {
      const st = stateOf.get(id);
      const v = verdictOf.get(id);
      return {
        id,
        provider: w.provider,
        model: w.spec.gpus[0]?.model.type ?? "?",
        gpus: w.spec.gpus.length,
        free: w.spec.gpus.length - w.reserved_gpus,
        vram: w.spec.gpus[0]?.vram_mib ?? 0,
        price: w.spec.price_per_gpu_hour,
        region: bytesToText(w.spec.region),
        status: w.status.type,
        paused: w.paused,
        lastHeartbeat: w.last_heartbeat,
        deposit: w.deposit,
        unlockAt: w.unlock_at,
        agent: w.spec.agent,
        endpoint: bytesToText(w.spec.endpoint),
        throughput: st?.throughput_gops,
        failures: st?.consecutive_failures,
        lastPassed: st?.last_passed,
        verdict: v
          ? {
              epoch: v.epoch,
              outcome: v.outcome.type,
              pass: v.votes.filter((x) => x.verdict?.type === "Pass").length,
              votes: v.votes.length,
              silent: v.votes.filter((x) => x.verdict === undefined).length,
            }
          : undefined,
      } satisfies WorkerRow;
    })
    .sort((a, b) => Number(a.id - b.id));
}

export function VerdictCell({ w }: { w: WorkerRow }) {
  if (!w.verdict) return <span class="muted">not checked yet</span>;
  const cls = w.verdict.outcome === "Passed" ? "ok" : w.verdict.outcome === "Failed" ? "bad" : "muted";
  return (
    <span>
      <span class={`badge ${cls}`}>{w.verdict.outcome}</span> epoch {w.verdict.epoch}, {w.verdict.pass}/{w.verdict.votes} pass
      {w.verdict.silent ? `, ${w.verdict.silent} silent` : ""}
      {w.failures ? <span class="bad"> · {w.failures} failure(s) in a row</span> : null}
      {w.verdict.outcome !== "Passed" && w.lastPassed !== undefined ? <span class="muted"> · last passed in epoch {w.lastPassed}</span> : null}
    </span>
  );
}

export function StatusCell({ w }: { w: WorkerRow }) {
  const cls = w.status === "Active" && !w.paused ? "ok" : w.status === "Suspended" ? "bad" : "warn";
  return <span class={`badge ${cls}`}>{w.status}{w.paused ? " (paused)" : ""}</span>;
}

export function MarketPage() {
  const [target, setTarget] = useState<{ id: bigint; model: string; price: bigint } | undefined>();
  return (
    <NeedChain pallet="WorkerRegistry" palletLabel="Marketplace">
      {(chain) => (
        <>
          <Workers chain={chain} onPick={setTarget} />
          <OrderForm chain={chain} target={target} clearTarget={() => setTarget(undefined)} />
        </>
      )}
    </NeedChain>
  );
}

function Workers({ chain, onPick }: { chain: Chain; onPick: (t: { id: bigint; model: string; price: bigint }) => void }) {
  const { value: rows, error } = useLive(() => loadWorkers(chain), [chain]);
  return (
    <Card title="Workers" id="workers">
      {error && <p class="error">{error}</p>}
      {!rows ? (
        <p class="muted">Loading…</p>
      ) : rows.length === 0 ? (
        <p class="muted">No worker is registered on this chain yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="cards-on-phone" data-testid="workers-table">
            <thead>
              <tr>
                <th>#</th>
                <th>Model</th>
                <th>GPUs free</th>
                <th>Price / GPU-h</th>
                <th>Region</th>
                <th>Status</th>
                <th>Throughput</th>
                <th>Last verdict</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {rows.map((w) => (
                <tr key={String(w.id)}>
                  <td data-label="#">{String(w.id)}</td>
                  <td data-label="Model">
                    <span>
                      {w.model}
                      {w.vram ? <span class="muted"> · {Math.round(w.vram / 1024)} GiB</span> : null}
                    </span>
                  </td>
                  <td data-label="GPUs free">
                    {w.free} / {w.gpus}
                  </td>
                  <td data-label="Price / GPU-h">{fmtTokens(w.price)}</td>
                  <td data-label="Region">{w.region || <span class="muted">—</span>}</td>
                  <td data-label="Status">
                    <StatusCell w={w} />
                  </td>
                  <td data-label="Throughput">{w.throughput !== undefined ? `${w.throughput.toLocaleString()} GOPS` : <span class="muted">not measured</span>}</td>
                  <td data-label="Last verdict">
                    <VerdictCell w={w} />
                  </td>
                  <td data-label="">
                    <button class="small" disabled={w.status !== "Active" || w.paused || w.free === 0} onClick={() => onPick({ id: w.id, model: w.model, price: w.price })}>
                      Order here
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function OrderForm({ chain, target, clearTarget }: { chain: Chain; target?: { id: bigint; model: string; price: bigint }; clearTarget: () => void }) {
  const w = useStore(wallet);
  const [model, setModel] = useState<GpuModelName>("DevCpu");
  const [gpus, setGpus] = useState("1");
  const [hours, setHours] = useState("1");
  const [maxPrice, setMaxPrice] = useState("10");
  const [points, setPoints] = useState("0");
  const [image, setImage] = useState("docker.io/library/nginx:latest");
  const [ports, setPorts] = useState("80");
  const [quote, setQuote] = useState<{ req: QuoteRequest; answer: QuoteAnswer } | undefined>();
  const [err, setErr] = useState<string>();
  const [placed, setPlaced] = useState<string>();

  const effModel = (target?.model as GpuModelName) ?? model;
  const { value: held } = useLive(async () => {
    if (!w.selected || !chain.pallets.has("Points")) return undefined;
    return chain.api.query.Points.PointsOf.getValue(w.selected.address, { at: "best" });
  }, [chain, w.selected?.address]);
  const invalidate = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setQuote(undefined);
    setPlaced(undefined);
  };

  const buildRequest = (): QuoteRequest => {
    if (!w.selected) throw new Error("Connect a wallet first.");
    const gpuCount = Number(gpus);
    if (!Number.isInteger(gpuCount) || gpuCount < 1) throw new Error("GPUs: a whole number, at least 1.");
    const h = Number(hours);
    if (!(h > 0)) throw new Error("Duration: a positive number of hours.");
    const duration = Math.max(1, Math.round(h * chain.blocksPerHour));
    return {
      who: w.selected.address,
      model: effModel,
      gpuCount,
      duration,
      maxPrice: parseTokens(maxPrice),
      maxPoints: parseTokens(points || "0"),
      target: target?.id,
    };
  };

  const onQuote = async () => {
    setErr(undefined);
    setPlaced(undefined);
    try {
      const req = buildRequest();
      setQuote({ req, answer: await getQuote(chain, req) });
    } catch (e: any) {
      setQuote(undefined);
      setErr(String(e?.message ?? e));
    }
  };

  const onPlace = async () => {
    if (!quote || !quote.answer.ok || !w.selected) return;
    setErr(undefined);
    const q = quote.answer.quote;
    const req = quote.req;
    const portList = ports
      .split(/[ ,]+/)
      .filter(Boolean)
      .map((p) => {
        const n = Number(p);
        if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`Port "${p}" is not a port number.`);
        return n;
      });
    if (!image.trim()) throw new Error("Image: give a container image reference.");
    const key = newOrderKey(w.selected.address, chain.genesis);
    const pkHex = toHex(key.publicKey);
    const tx = chain.api.tx.Orders.place_order({
      spec: {
        image: new TextEncoder().encode(image.trim()),
        gpu_model: { type: req.model, value: undefined } as any,
        gpu_count: req.gpuCount,
        duration: req.duration,
        max_price_per_gpu_hour: req.maxPrice,
        // The quoted worker: the order goes where the quote said, at the quoted price.
        target_worker: q.worker,
        user_public_key: `0x${pkHex}`,
        ports: portList,
      },
      max_points: req.maxPoints,
    });
    try {
      const r = await sendTx(chain, `Place order on worker #${q.worker}`, tx, w.selected.polkadotSigner);
      const ev = findEvents(r, "Orders", "OrderPlaced")[0];
      if (!ev) throw new Error("The transaction succeeded but no OrderPlaced event was found.");
      assignOrder(pkHex, ev.order_id);
      setPlaced(`Order #${ev.order_id} placed on worker #${ev.worker}: ${fmtTokens(ev.total_cost)} in escrow${ev.discount ? ` (${fmtTokens(ev.discount)} paid with points)` : ""}. Its access key is kept in this browser.`);
      setQuote(undefined);
    } catch (e: any) {
      forgetKey(pkHex);
      throw e;
    }
  };

  const a = quote?.answer;
  return (
    <Card title="Order GPUs" id="order">
      {target && (
        <p class="notice">
          On worker #{String(target.id)} ({target.model}, {fmtTokens(target.price)} per GPU-hour).{" "}
          <button class="link" onClick={() => { clearTarget(); setQuote(undefined); }}>
            Any worker instead
          </button>
        </p>
      )}
      <div class="form-grid">
        <Field label="GPU model">
          <select value={effModel} disabled={!!target} onChange={(e) => invalidate(setModel)((e.target as HTMLSelectElement).value as GpuModelName)} data-testid="order-model">
            {GPU_MODELS.map((m) => (
              <option key={m} value={m}>{m}</option>
            ))}
          </select>
        </Field>
        <Field label="GPUs">
          <input inputMode="numeric" value={gpus} onInput={(e) => invalidate(setGpus)((e.target as HTMLInputElement).value)} data-testid="order-gpus" />
        </Field>
        <Field label="Hours" hint={`${chain.blocksPerHour} blocks an hour`}>
          <input inputMode="decimal" value={hours} onInput={(e) => invalidate(setHours)((e.target as HTMLInputElement).value)} data-testid="order-hours" />
        </Field>
        <Field label="Max price / GPU-hour (KAI)">
          <input inputMode="decimal" value={maxPrice} onInput={(e) => invalidate(setMaxPrice)((e.target as HTMLInputElement).value)} data-testid="order-maxprice" />
        </Field>
        <Field label="Points to spend (at most)" hint={held !== undefined ? `you hold ${fmtTokens(held, 4, "points")}` : undefined}>
          <input inputMode="decimal" value={points} onInput={(e) => invalidate(setPoints)((e.target as HTMLInputElement).value)} data-testid="order-points" />
        </Field>
        <Field label="Container image">
          <input value={image} onInput={(e) => invalidate(setImage)((e.target as HTMLInputElement).value)} data-testid="order-image" />
        </Field>
        <Field label="Ports" hint="container ports, comma separated">
          <input value={ports} onInput={(e) => invalidate(setPorts)((e.target as HTMLInputElement).value)} data-testid="order-ports" />
        </Field>
      </div>
      <div class="actions">
        <ActionButton onClick={onQuote} disabled={!w.selected} testid="get-quote">
          Get a quote
        </ActionButton>
        {!w.selected && <span class="muted">Connect a wallet to order.</span>}
      </div>
      {err && <p class="error" role="alert">{err}</p>}
      {a && !a.ok && (
        <div class="quote refused" data-testid="quote-refused" role="alert">
          <strong>No order possible:</strong> {a.reason}
        </div>
      )}
      {a && a.ok && quote && (
        <div class="quote" data-testid="quote">
          <h3>Quote</h3>
          <dl class="kv">
            <div><dt>Worker</dt><dd>#{String(a.quote.worker)}</dd></div>
            <div><dt>Price</dt><dd>{fmtTokens(a.quote.price_per_gpu_hour)} per GPU-hour</dd></div>
            <div><dt>Duration</dt><dd>{quote.req.duration} blocks (≈ {fmtBlocks(quote.req.duration, chain.msPerBlock)})</dd></div>
            <div><dt>Total cost</dt><dd>{fmtTokens(a.quote.total_cost, 6)}</dd></div>
            <div><dt>Discount</dt><dd>{fmtTokens(a.quote.discount, 6)} ({fmtTokens(a.quote.points_spent, 6, "points")} spent)</dd></div>
            <div><dt>You pay (escrow)</dt><dd data-testid="quote-pays"><strong>{fmtTokens(a.quote.user_pays, 6)}</strong></dd></div>
            <div><dt>Order deposit</dt><dd>{fmtTokens(a.quote.deposit)} held, returned when the worker accepts (forfeited if you cancel before that)</dd></div>
          </dl>
          <ActionButton onClick={onPlace} class="primary" testid="place-order">
            Pay {fmtTokens(a.quote.user_pays + a.quote.deposit, 6)} and order
          </ActionButton>
        </div>
      )}
      {placed && (
        <p class="success" data-testid="order-placed">
          {placed} <a href="#/orders">See my orders</a>
        </p>
      )}
    </Card>
  );
}

export { enumType };
