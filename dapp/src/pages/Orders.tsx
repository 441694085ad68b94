// Users: my orders (live), the access details decrypted in the browser, cancel; points and the
// refund preference; the order keys kept in this browser.
import { useEffect, useState } from "preact/hooks";
import type { InjectedPolkadotAccount } from "polkadot-api/pjs-signer";
import { bestBlock, type Chain } from "../chain.ts";
import { fmtBlocks, fmtPoints, fmtTokens } from "../format.ts";
import { ActionButton, Card, Kv, NeedAccount, NeedChain, useLive } from "../ui.tsx";
import { useStore } from "../store.ts";
import { findEvents, sendTx } from "../tx.ts";
import { allKeys, exportKeys, importKeyText, keyFor } from "../keys.ts";
import { openAccessDetails, type AccessDetails } from "../access.ts";

interface OrderEvents {
  refunds: { tokens: string; points: string; at: number }[];
  forfeited?: string;
}

const EV_KEY = "kaisar.orderEvents";

function loadEvents(genesis: string): Record<string, OrderEvents> {
  try {
    return JSON.parse(localStorage.getItem(`${EV_KEY}.${genesis}`) ?? "{}");
  } catch {
    return {};
  }
}

function recordEvents(genesis: string, events: any[], at: number) {
  const all = loadEvents(genesis);
  let changed = false;
  for (const e of events) {
    if (e.type !== "Orders") continue;
    const v = e.value.value;
    const id = String(v?.order_id ?? "");
    if (!id) continue;
    const cur = (all[id] ??= { refunds: [] });
    if (e.value.type === "OrderRefunded") {
      // The same block's events may be seen twice (the transaction's result and the block watch).
      if (!cur.refunds.some((r) => r.at === at && r.tokens === String(v.tokens) && r.points === String(v.points))) {
        cur.refunds.push({ tokens: String(v.tokens), points: String(v.points), at });
        changed = true;
      }
    } else if (e.value.type === "DepositForfeited") {
      cur.forfeited = String(v.amount);
      changed = true;
    }
  }
  if (changed) localStorage.setItem(`${EV_KEY}.${genesis}`, JSON.stringify(all));
}

/** Follow the Orders events of every new block (refunds are events only), kept per chain. */
export function watchOrderEvents(chain: Chain) {
  const seen = new Set<string>();
  chain.client.bestBlocks$.subscribe((blocks) => {
    const b = blocks[0];
    if (!b || seen.has(b.hash)) return;
    seen.add(b.hash);
    chain.api.query.System.Events.getValue({ at: b.hash })
      .then((evs: any[]) => recordEvents(chain.genesis, evs.map((x) => x.event), b.number))
      .catch(() => {});
  });
}

export function recordTxEvents(chain: Chain, events: any[], at: number) {
  recordEvents(chain.genesis, events, at);
}

const FAILURE_WORDS: Record<string, string> = {
  NotAccepted: "the worker did not accept it in time",
  Rejected: "the worker's agent rejected it",
  WorkerUnavailable: "the worker went offline or was suspended",
  NoFinalReport: "the agent sent no final usage report",
  ServiceFailed: "the provider could not run the container",
};

function exitText(k: any): string {
  switch (k?.type) {
    case "Exited":
      return `exited with code ${k.value?.code}`;
    case "OomKilled":
      return "killed: out of memory";
    case "ImageUnavailable":
      return "image unavailable on the host (provider's fault)";
    case "StartFailed":
      return "the container engine could not start it (provider's fault)";
    default:
      return String(k?.type);
  }
}

export function OrdersPage() {
  return (
    <NeedChain pallet="Orders" palletLabel="My orders">
      {(chain) => (
        <NeedAccount what="see your orders">
          {(acct) => (
            <>
              <MyOrders chain={chain} acct={acct} />
              <Points chain={chain} acct={acct} />
              <Keys chain={chain} acct={acct} />
            </>
          )}
        </NeedAccount>
      )}
    </NeedChain>
  );
}

function MyOrders({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const now = useStore(bestBlock);
  const { value, error } = useLive(async () => {
    const api = chain.api;
    // The account's orders through the pallet's index (as user or provider), not every order.
    const ids = (await api.query.Orders.OrdersOf.getEntries(acct.address, { at: "best" }))
      .map((e) => e.keyArgs[1])
      .sort((a, b) => Number(b - a));
    const orders = await api.query.Orders.Orders.getValues(ids.map((id) => [id] as [bigint]), { at: "best" });
    const mine = ids.flatMap((id, i) => {
      const order = orders[i];
      return order && order.user === acct.address ? [{ id, order }] : [];
    });
    const extra = await Promise.all(
      mine.map(async ({ id, order }) => {
        const [blob, exits] = await Promise.all([
          order.status.type === "Running" ? api.query.Orders.AccessBlobs.getValue(id, { at: "best" }) : Promise.resolve(undefined),
          api.query.Orders.ExitRecords.getValue(id, { at: "best" }),
        ]);
        return { id, order, blob, exits };
      }),
    );
    return extra;
  }, [chain, acct.address]);
  const events = loadEvents(chain.genesis);
  return (
    <Card title="My orders" id="my-orders">
      {error && <p class="error">{error}</p>}
      {!value ? (
        <p class="muted">Loading…</p>
      ) : value.length === 0 ? (
        <p class="muted">No orders of {acct.name ?? acct.address} on this chain. <a href="#/market">Order GPUs</a></p>
      ) : (
        <div class="orders">
          {value.map(({ id, order, blob, exits }) => (
            <OrderCard key={String(id)} chain={chain} acct={acct} id={id} order={order} blob={blob} exits={exits} now={now} ev={events[String(id)]} />
          ))}
        </div>
      )}
    </Card>
  );
}

function OrderCard(props: { chain: Chain; acct: InjectedPolkadotAccount; id: bigint; order: any; blob?: Uint8Array; exits: any[]; now: number; ev?: OrderEvents }) {
  const { chain, acct, id, order, blob, exits, now, ev } = props;
  const st = order.status;
  const ms = chain.msPerBlock;
  let statusLine = st.type as string;
  let timeLeft = "";
  switch (st.type) {
    case "Pending":
      timeLeft = `waiting for the worker to accept (by block #${st.value.accept_by}, ≈ ${fmtBlocks(st.value.accept_by - now, ms)})`;
      break;
    case "Running":
      timeLeft = `≈ ${fmtBlocks(st.value.ends_at - now, ms)} left (ends at block #${st.value.ends_at})`;
      break;
    case "Settling":
      statusLine = `Settling (${st.value.cancelled ? "cancelled" : "completed"})`;
      timeLeft = `settles at block #${st.value.settles_at}`;
      break;
    case "Failed":
      statusLine = `Failed: ${FAILURE_WORDS[st.value.reason.type] ?? st.value.reason.type}`;
      break;
  }
  const terminal = ["Completed", "Cancelled", "Failed"].includes(st.type);
  const refunded: bigint | undefined = terminal ? BigInt(order.total_cost) - BigInt(order.paid_so_far) : undefined;
  const refundTokens: bigint = ev?.refunds.reduce<bigint>((s, r) => s + BigInt(r.tokens), 0n) ?? 0n;
  const refundPoints: bigint = ev?.refunds.reduce<bigint>((s, r) => s + BigInt(r.points), 0n) ?? 0n;
  const pk = order.user_public_key as string;
  const cls = st.type === "Running" ? "ok" : st.type === "Failed" ? "bad" : st.type === "Pending" || st.type === "Settling" ? "warn" : "muted";

  return (
    <article class="order" data-testid={`order-${id}`}>
      <header>
        <h3>Order #{String(id)}</h3>
        <span class={`badge ${cls}`} data-testid="order-status">{statusLine}</span>
      </header>
      <Kv
        rows={[
          ["Worker", `#${order.worker} · ${order.gpu_count} × ${order.gpu_model.type} at ${fmtTokens(order.price_per_gpu_hour)}/GPU-h`],
          ["Image", new TextDecoder().decode(order.image)],
          ["Cost", `${fmtTokens(order.total_cost, 6)}${order.discount ? ` (${fmtTokens(order.discount, 6)} by points)` : ""}`],
          ["Usage paid", <span data-testid="order-paid">{fmtTokens(order.paid_so_far, 6)} to the provider</span>],
          ...(timeLeft ? ([["Time", timeLeft]] as [string, string][]) : []),
          ...(refunded !== undefined
            ? ([["Refunded", <span data-testid="order-refund">{fmtTokens(refunded, 6)}{order.discount ? " of the cost (the discount's share back as points)" : ""}{refundTokens || refundPoints ? ` (seen: ${fmtTokens(refundTokens, 6)} in tokens, ${fmtPoints(refundPoints)})` : ""}</span>]] as [string, any][])
            : []),
          ...(ev?.forfeited ? ([["Deposit forfeited", fmtTokens(BigInt(ev.forfeited))]] as [string, string][]) : []),
        ]}
      />
      {exits.length > 0 && (
        <div class="exits">
          <strong>Container exits</strong>
          <ul>
            {exits.map((x: any, i: number) => (
              <li key={i} data-testid="exit-event">
                block #{x.at}: {exitText(x.kind)}, after {x.restarts} restart(s)
              </li>
            ))}
          </ul>
        </div>
      )}
      {st.type === "Running" && <Access pk={pk} blob={blob} />}
      {st.type === "Pending" && !keyFor(pk) && <p class="warn-text">The access key of this order is not in this browser: import its key file below to read the access details.</p>}
      {(st.type === "Pending" || st.type === "Running") && (
        <div class="actions">
          <ActionButton
            testid="cancel-order"
            onClick={async () => {
              if (!acct) return;
              const r = await sendTx(chain, `Cancel order #${id}`, chain.api.tx.Orders.cancel_order({ order_id: id }), acct.polkadotSigner);
              recordTxEvents(chain, r.events.map((e) => ({ type: e.type, value: e.value })), r.block.number);
              const refund = findEvents(r, "Orders", "OrderRefunded")[0];
              if (!refund && !findEvents(r, "Orders", "OrderSettling")[0]) throw new Error("Cancelled, but the chain reported no refund.");
            }}
          >
            Cancel order
          </ActionButton>
          {st.type === "Pending" && <span class="hint">Cancelling before the worker accepts forfeits the order deposit.</span>}
        </div>
      )}
    </article>
  );
}

function Access({ pk, blob }: { pk: string; blob?: Uint8Array }) {
  const [details, setDetails] = useState<AccessDetails>();
  const [err, setErr] = useState<string>();
  useEffect(() => {
    setErr(undefined);
    if (!blob) return setErr("The order runs but its access blob is not on chain.");
    const key = keyFor(pk);
    if (!key) return setErr("The access key of this order is not in this browser (import its key file below).");
    try {
      setDetails(openAccessDetails(key, blob));
    } catch (e: any) {
      setErr(`Cannot open the access details: ${e?.message ?? e}`);
    }
  }, [pk, blob?.length]);
  if (err) return <p class="error" role="alert">{err}</p>;
  if (!details) return null;
  return (
    <div class="access" data-testid="access-details">
      <strong>Access (decrypted in this browser)</strong>
      <Kv
        rows={[
          ["Host", <code data-testid="access-host">{details.host}</code>],
          ["Ports", <span data-testid="access-ports">{details.ports.map((p) => `${p.container} → ${details.host}:${p.host}`).join(", ") || "none"}</span>],
          ["Token", <code data-testid="access-token">{details.token}</code>],
        ]}
      />
    </div>
  );
}

function Points({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const has = chain.pallets.has("Points");
  const { value } = useLive(async () => {
    if (!has) return undefined;
    const [points, pref] = await Promise.all([
      chain.api.query.Points.PointsOf.getValue(acct.address, { at: "best" }),
      chain.api.query.Points.RefundPreferences.getValue(acct.address, { at: "best" }),
    ]);
    return { points, pref: pref?.type ?? "Points" };
  }, [chain, acct.address]);
  if (!has) return <Card title="Points"><p class="notice">This chain's runtime has no Points pallet.</p></Card>;
  const other = value?.pref === "Points" ? "Tokens" : "Points";
  return (
    <Card title="Points" id="points">
      {!value ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <Kv
            rows={[
              ["Balance", <span data-testid="points-balance">{fmtPoints(value.points)}</span>],
              ["Service-failure refunds", <span data-testid="refund-pref">as {value.pref.toLowerCase()}</span>],
            ]}
          />
          <p class="hint">Refunds you cause (cancelling) are always tokens. Points give a discount of up to half an order's cost.</p>
          <ActionButton
            testid="toggle-refund-pref"
            onClick={() =>
              sendTx(chain, `Refunds as ${other.toLowerCase()}`, chain.api.tx.Points.set_refund_preference({ preference: { type: other, value: undefined } as any }), acct.polkadotSigner)
            }
          >
            Get refunds as {other.toLowerCase()}
          </ActionButton>
        </>
      )}
    </Card>
  );
}

function Keys({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const [, setN] = useState(0);
  const [msg, setMsg] = useState<string>();
  const keys = allKeys().filter((k) => k.chain === chain.genesis && k.account === acct.address);
  return (
    <Card title="Order access keys" id="keys">
      <p class="hint">
        Each order gets a fresh x25519 key, generated and kept in this browser (localStorage). Without it the access details of
        the order cannot be read: export them to keep a copy (the file works with the <code>kaisar</code> CLI too).
      </p>
      {keys.length === 0 ? (
        <p class="muted">No keys for this account on this chain.</p>
      ) : (
        <ul class="keys">
          {keys.map((k) => (
            <li key={k.public}>
              {k.order ? `order #${k.order}` : "no order (placing failed or pending)"} · <code>{k.public.slice(0, 16)}…</code>{" "}
              <button class="link" onClick={() => exportKeys([k], `${k.order ?? "pending-" + k.public.slice(0, 16)}.key`)}>export</button>
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        <button disabled={keys.length === 0} onClick={() => exportKeys(keys, `kaisar-order-keys-${acct.address.slice(0, 8)}.txt`)}>
          Export all as a file
        </button>
        <label class="button">
          Import key file
          <input
            type="file"
            hidden
            onChange={async (e) => {
              const f = (e.target as HTMLInputElement).files?.[0];
              if (!f) return;
              const n = importKeyText(await f.text(), acct.address, chain.genesis);
              setMsg(`${n} key(s) imported.`);
              setN((x) => x + 1);
            }}
          />
        </label>
      </div>
      {msg && <p class="success">{msg}</p>}
    </Card>
  );
}
