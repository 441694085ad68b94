import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { bestBlock, connect, connection, initialUrl } from "./chain.ts";
import { fmtTokens, shortAddr } from "./format.ts";
import { useStore } from "./store.ts";
import { TxPanel, useLive } from "./ui.tsx";
import { autoConnect, connectWallet, detectExtensions, extensionLabel, selectAccount, wallet } from "./wallet.ts";
import { ready } from "./access.ts";
import { MarketPage } from "./pages/Market.tsx";
import { OrdersPage, watchOrderEvents } from "./pages/Orders.tsx";
import { ProviderPage } from "./pages/Provider.tsx";
import { LicensesPage } from "./pages/Licenses.tsx";
import { RewardsPage } from "./pages/Rewards.tsx";
import "./styles.css";

const PAGES = [
  { path: "market", label: "Marketplace", view: MarketPage },
  { path: "orders", label: "My orders", view: OrdersPage },
  { path: "provider", label: "Provider", view: ProviderPage },
  { path: "licenses", label: "Licenses", view: LicensesPage },
  { path: "rewards", label: "Rewards", view: RewardsPage },
];

function useRoute(): string {
  const get = () => location.hash.replace(/^#\/?/, "").split("?")[0] || "market";
  const [r, setR] = useState(get());
  useEffect(() => {
    const on = () => setR(get());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return r;
}

function ChainBar() {
  const conn = useStore(connection);
  const block = useStore(bestBlock);
  const [url, setUrl] = useState(initialUrl());
  const [editing, setEditing] = useState(false);
  const label =
    conn.kind === "ready" ? `${conn.chain.chainName} · #${block}` : conn.kind === "connecting" ? "connecting…" : conn.kind === "error" ? "not connected" : "—";
  return (
    <div class="chainbar">
      <span class={`dot ${conn.kind === "ready" ? "ok" : conn.kind === "error" ? "bad" : "warn"}`} />
      <button class="link" onClick={() => setEditing(!editing)} data-testid="chain-status" title={conn.kind === "ready" ? conn.chain.url : ""}>
        {label}
      </button>
      {editing && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setEditing(false);
            void connect(url.trim());
          }}
        >
          <input value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} aria-label="node URL" />
          <button>Connect</button>
        </form>
      )}
      {conn.kind === "error" && !editing && <span class="error small-text">{conn.message}</span>}
    </div>
  );
}

function WalletBar() {
  const w = useStore(wallet);
  const conn = useStore(connection);
  const chain = conn.kind === "ready" ? conn.chain : undefined;
  const { value: free } = useLive(async () => {
    if (!chain || !w.selected) return undefined;
    const a = await chain.api.query.System.Account.getValue(w.selected.address, { at: "best" });
    return a.data.free - a.data.frozen > 0n ? a.data.free - a.data.frozen : 0n;
  }, [chain, w.selected?.address]);
  if (!w.extension)
    return (
      <div class="walletbar">
        {w.available.length === 0 ? (
          <span class="muted small-text">
            No wallet extension found (polkadot.js, Talisman, SubWallet).{" "}
            <button class="link" onClick={() => void detectExtensions()}>Look again</button>
          </span>
        ) : (
          w.available.map((id) => (
            <button key={id} onClick={() => void connectWallet(id)} data-testid={`connect-${id}`}>
              Connect {extensionLabel(id)}
            </button>
          ))
        )}
        {w.error && <span class="error small-text">{w.error}</span>}
      </div>
    );
  return (
    <div class="walletbar">
      {w.accounts.length === 0 ? (
        <span class="muted small-text">The wallet shares no accounts with this site.</span>
      ) : (
        <select value={w.selected?.address} onChange={(e) => selectAccount((e.target as HTMLSelectElement).value)} data-testid="account-select" aria-label="account">
          {w.accounts.map((a) => (
            <option key={a.address} value={a.address}>
              {a.name ? `${a.name} · ` : ""}{shortAddr(a.address)}
            </option>
          ))}
        </select>
      )}
      {free !== undefined && <span class="balance" data-testid="balance">{fmtTokens(free, 2)}</span>}
    </div>
  );
}

function App() {
  const route = useRoute();
  const page = PAGES.find((p) => p.path === route) ?? PAGES[0];
  const View = page.view;
  return (
    <>
      <header class="top">
        <div class="brand">
          <a href="#/market">Kaisar</a>
          <span class="muted small-text">decentralized GPU cloud</span>
        </div>
        <ChainBar />
        <WalletBar />
      </header>
      <nav class="tabs">
        {PAGES.map((p) => (
          <a key={p.path} href={`#/${p.path}`} class={p === page ? "active" : ""}>
            {p.label}
          </a>
        ))}
      </nav>
      <main data-page={page.path}>
        <View />
      </main>
      <TxPanel />
    </>
  );
}

async function start() {
  await ready();
  render(<App />, document.getElementById("app")!);
  const chain = await connect(initialUrl());
  if (chain && chain.pallets.has("Orders")) watchOrderEvents(chain);
  await autoConnect();
}

void start();
