// Small shared components: cards, the transaction log, loaders that re-read on every block.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { connection, tick, type Chain } from "./chain.ts";
import { useStore } from "./store.ts";
import { dismissTx, txLog, type Phase } from "./tx.ts";
import { wallet } from "./wallet.ts";
import type { InjectedPolkadotAccount } from "polkadot-api/pjs-signer";

export function Card(props: { title?: string; children: ComponentChildren; id?: string; class?: string }) {
  return (
    <section class={`card ${props.class ?? ""}`} id={props.id}>
      {props.title && <h2>{props.title}</h2>}
      {props.children}
    </section>
  );
}

const PHASE_TEXT: Record<Phase, string> = {
  signing: "waiting for the wallet's signature…",
  broadcast: "signed, sent to the chain…",
  inBlock: "in block",
  finalized: "finalized",
  failed: "failed",
};

const HIDE_AFTER_MS = 12_000;

export function TxPanel() {
  const log = useStore(txLog);
  const [, setNow] = useState(0);
  useEffect(() => {
    const i = setInterval(() => setNow(Date.now()), 2000);
    return () => clearInterval(i);
  }, []);
  // Finished transactions leave after a while; failed ones stay until dismissed.
  const shown = log.filter((t) => !t.doneAt || Date.now() - t.doneAt < HIDE_AFTER_MS).slice(0, 3);
  if (shown.length === 0) return null;
  return (
    <aside class="txlog" aria-live="polite" data-testid="txlog">
      {shown.map((t) => (
        <div class={`tx tx-${t.phase}`} key={t.id} data-phase={t.phase}>
          <button class="tx-close" aria-label="dismiss" onClick={() => dismissTx(t.id)}>×</button>
          <strong>{t.label}</strong>
          <span class="tx-steps">
            <Step on={true} done={t.phase !== "signing"} label="signing" />
            <Step on={t.phase !== "signing"} done={t.phase === "inBlock" || t.phase === "finalized"} label="sent" />
            <Step on={t.phase === "inBlock" || t.phase === "finalized"} done={t.phase === "finalized"} label={t.block ? `in block #${t.block}` : "in block"} />
            <Step on={t.phase === "finalized"} done={t.phase === "finalized"} label="finalized" />
          </span>
          <span class="tx-phase">{t.phase === "failed" ? "failed" : PHASE_TEXT[t.phase]}</span>
          {t.error && <div class="tx-error" role="alert">{t.error}</div>}
        </div>
      ))}
    </aside>
  );
}

function Step(p: { on: boolean; done: boolean; label: string }) {
  return <span class={`step ${p.on ? "on" : ""} ${p.done ? "done" : ""}`}>{p.label}</span>;
}

/** Run `load` now and again on every new block (and when deps change); keeps the last value. */
export function useLive<T>(
  load: () => Promise<T>,
  deps: unknown[],
  everyBlocks = 1,
): { value?: T; error?: string; loading: boolean; reload: () => void } {
  // Heavy reads (runtime APIs that iterate) refresh every few blocks only.
  const t = Math.floor(useStore(tick) / everyBlocks);
  const [state, setState] = useState<{ value?: T; error?: string; loading: boolean }>({ loading: true });
  const [manual, setManual] = useState(0);
  const seq = useRef(0);
  const inFlight = useRef<string | undefined>(undefined);
  const lastKey = useRef<string | undefined>(undefined);
  const key = JSON.stringify(deps, (_, v) => (typeof v === "bigint" ? v.toString() : typeof v === "object" && v && "client" in v ? (v as Chain).url : v));
  useEffect(() => {
    // One load at a time per set of deps (a slow read is not restarted on every block); a change
    // of deps starts a new one at once and only the latest one's result is shown.
    if (inFlight.current === key) return;
    if (lastKey.current !== key) {
      // Other deps (another account): do not show the previous one's data meanwhile.
      lastKey.current = key;
      setState({ loading: true });
    }
    const mine = ++seq.current;
    inFlight.current = key;
    load()
      .then((value) => mine === seq.current && setState({ value, loading: false }))
      .catch((e) => mine === seq.current && setState((s) => ({ ...s, error: String(e?.message ?? e), loading: false })))
      .finally(() => {
        if (mine === seq.current) inFlight.current = undefined;
      });
  }, [t, manual, key]);
  return { ...state, reload: () => setManual((m) => m + 1) };
}

/** Children get the chain; without a connection, or without the pallet, say so. */
export function NeedChain(props: { pallet?: string; palletLabel?: string; children: (chain: Chain) => ComponentChildren }) {
  const conn = useStore(connection);
  if (conn.kind !== "ready")
    return (
      <Card>
        <p class="muted">
          {conn.kind === "error" ? `Not connected: ${conn.message}` : conn.kind === "connecting" ? `Connecting to ${conn.url}…` : "Not connected to a chain."}
        </p>
      </Card>
    );
  if (props.pallet && !conn.chain.pallets.has(props.pallet))
    return (
      <Card title={props.palletLabel ?? props.pallet}>
        <p class="notice" data-testid="pallet-missing">
          This chain's runtime has no <code>{props.pallet}</code> pallet, so this page has nothing to show. Connect to a
          Kaisar chain whose runtime includes it.
        </p>
      </Card>
    );
  return <>{props.children(conn.chain)}</>;
}

export function NeedAccount(props: { children: (acct: InjectedPolkadotAccount) => ComponentChildren; what?: string }) {
  const w = useStore(wallet);
  if (!w.selected)
    return (
      <Card>
        <p class="muted">Connect a wallet (top right) to {props.what ?? "see your account here"}.</p>
      </Card>
    );
  return <>{props.children(w.selected)}</>;
}

/** A button that runs an async action, disables itself meanwhile and shows its error. */
export function ActionButton(props: { onClick: () => Promise<unknown>; children: ComponentChildren; disabled?: boolean; class?: string; testid?: string }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string>();
  return (
    <span class="action">
      <button
        class={props.class}
        data-testid={props.testid}
        disabled={busy || props.disabled}
        onClick={async () => {
          setBusy(true);
          setErr(undefined);
          try {
            await props.onClick();
          } catch (e: any) {
            setErr(String(e?.message ?? e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? "…" : props.children}
      </button>
      {err && <span class="error" role="alert">{err}</span>}
    </span>
  );
}

export function Field(props: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field">
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && <span class="hint">{props.hint}</span>}
    </label>
  );
}

export function Kv(props: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="kv">
      {props.rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
