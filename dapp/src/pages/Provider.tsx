// Providers: their workers (status, verdicts, throughput, earnings), register, set the price,
// pause/resume, deregister and withdraw the deposit.
import { useState } from "preact/hooks";
import sodium from "libsodium-wrappers";
import type { InjectedPolkadotAccount } from "polkadot-api/pjs-signer";
import { bestBlock, type Chain } from "../chain.ts";
import { fmtBlocks, fmtTokens, GPU_MODELS, parseTokens, type GpuModelName } from "../format.ts";
import { ActionButton, Card, Field, Kv, NeedAccount, NeedChain, useLive } from "../ui.tsx";
import { useStore } from "../store.ts";
import { sendTx } from "../tx.ts";
import { loadWorkers, StatusCell, VerdictCell, type WorkerRow } from "./Market.tsx";
import { toHex } from "../access.ts";

/** `kaisar_primitives::gpu_uuid_hash`: blake2_256("kaisar-popw/gpu-uuid/v1" ++ uuid). */
export function gpuUuidHash(uuid: string): string {
  const enc = new TextEncoder();
  const msg = new Uint8Array([...enc.encode("kaisar-popw/gpu-uuid/v1"), ...enc.encode(uuid)]);
  return `0x${toHex(sodium.crypto_generichash(32, msg, null))}`;
}

export function ProviderPage() {
  return (
    <NeedChain pallet="WorkerRegistry" palletLabel="Provider">
      {(chain) => (
        <NeedAccount what="manage your workers">
          {(acct) => (
            <>
              <MyWorkers chain={chain} acct={acct} />
              <Register chain={chain} acct={acct} />
            </>
          )}
        </NeedAccount>
      )}
    </NeedChain>
  );
}

function MyWorkers({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const { value, error } = useLive(async () => {
    const workers = (await loadWorkers(chain)).filter((w) => w.provider === acct.address);
    // The orders on this account's workers, through the pallet's index (as user or provider).
    const ids = chain.pallets.has("Orders")
      ? (await chain.api.query.Orders.OrdersOf.getEntries(acct.address, { at: "best" })).map((e) => e.keyArgs[1])
      : [];
    const orders = await chain.api.query.Orders.Orders.getValues(ids.map((id) => [id] as [bigint]), { at: "best" });
    const earned = new Map<bigint, { paid: bigint; open: number }>();
    for (const o of orders) {
      if (!o || o.provider !== acct.address) continue;
      const e = earned.get(o.worker) ?? { paid: 0n, open: 0 };
      e.paid += o.paid_so_far;
      if (["Pending", "Running", "Settling"].includes(o.status.type)) e.open++;
      earned.set(o.worker, e);
    }
    return { workers, earned };
  }, [chain, acct.address]);
  // Reward grants come from a runtime API that iterates the eras' scores: slow, read apart.
  const { value: rewards } = useLive(async () => {
    const out = new Map<bigint, bigint>();
    if (!chain.apis.has("RewardsApi")) return out;
    const era = await chain.api.apis.RewardsApi.current_era();
    const lines = await chain.api.apis.RewardsApi.rewards_of(acct.address, Math.max(0, era - 29), era);
    for (const l of lines)
      if (l.beneficiary.type === "Provider") out.set(l.beneficiary.value, (out.get(l.beneficiary.value) ?? 0n) + l.grant);
    return out;
  }, [chain, acct.address], 20);
  return (
    <Card title="My workers" id="my-workers">
      {error && <p class="error">{error}</p>}
      {!value ? (
        <p class="muted">Loading…</p>
      ) : value.workers.length === 0 ? (
        <p class="muted">No workers of {acct.name ?? acct.address}. Register one below (usually the provider agent does it for you).</p>
      ) : (
        value.workers.map((w) => <WorkerCard key={String(w.id)} chain={chain} acct={acct} w={w} earned={value.earned.get(w.id)} reward={rewards?.get(w.id)} />)
      )}
    </Card>
  );
}

function WorkerCard(props: { chain: Chain; acct: InjectedPolkadotAccount; w: WorkerRow; earned?: { paid: bigint; open: number }; reward?: bigint }) {
  const { chain, acct, w } = props;
  const now = useStore(bestBlock);
  const [price, setPrice] = useState(() => fmtTokens(w.price, 18, "").trim().replace(/,/g, ""));
  const signer = acct.polkadotSigner;
  const api = chain.api;
  const canWithdraw = w.status === "Deregistering" && w.unlockAt !== undefined && now >= w.unlockAt;
  return (
    <article class="order" data-testid={`worker-${w.id}`}>
      <header>
        <h3>Worker #{String(w.id)}</h3>
        <StatusCell w={w} />
      </header>
      <Kv
        rows={[
          ["Hardware", `${w.gpus} × ${w.model}${w.vram ? `, ${Math.round(w.vram / 1024)} GiB` : ""} · ${w.free} free`],
          ["Price", `${fmtTokens(w.price)} per GPU-hour`],
          ["Region / endpoint", `${w.region || "—"} · ${w.endpoint}`],
          ["Verdict", <VerdictCell w={w} />],
          ["Throughput", w.throughput !== undefined ? `${w.throughput.toLocaleString()} GOPS (median of its last passing check)` : "not measured yet"],
          ["Earnings", `${fmtTokens(props.earned?.paid ?? 0n, 6)} paid by the orders on chain now (${props.earned?.open ?? 0} open)${props.reward ? ` · rewards granted: ${fmtTokens(props.reward, 6)}` : ""}`],
          ["Deposit", `${fmtTokens(w.deposit)}${w.unlockAt !== undefined ? ` · unlocks at block #${w.unlockAt}${now < w.unlockAt ? ` (${fmtBlocks(w.unlockAt - now, chain.msPerBlock)})` : ""}` : ""}`],
          ["Last heartbeat", `block #${w.lastHeartbeat}`],
        ]}
      />
      {w.status !== "Deregistering" && (
        <div class="actions">
          <input class="narrow" value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} aria-label="new price" data-testid="new-price" />
          <ActionButton
            testid="set-price"
            onClick={() => sendTx(chain, `Set the price of worker #${w.id}`, api.tx.WorkerRegistry.update_worker({ worker_id: w.id, price_per_gpu_hour: parseTokens(price), endpoint: undefined }), signer)}
          >
            Set price / GPU-h
          </ActionButton>
          {w.paused ? (
            <ActionButton onClick={() => sendTx(chain, `Resume worker #${w.id}`, api.tx.WorkerRegistry.resume_worker({ worker_id: w.id }), signer)}>Resume</ActionButton>
          ) : (
            <ActionButton onClick={() => sendTx(chain, `Pause worker #${w.id}`, api.tx.WorkerRegistry.pause_worker({ worker_id: w.id }), signer)}>Pause</ActionButton>
          )}
          <ActionButton class="danger" onClick={() => sendTx(chain, `Deregister worker #${w.id}`, api.tx.WorkerRegistry.deregister_worker({ worker_id: w.id }), signer)}>
            Deregister
          </ActionButton>
        </div>
      )}
      {w.status === "Deregistering" && (
        <div class="actions">
          <ActionButton disabled={!canWithdraw} onClick={() => sendTx(chain, `Withdraw the deposit of worker #${w.id}`, api.tx.WorkerRegistry.withdraw_deposit({ worker_id: w.id }), signer)}>
            Withdraw deposit
          </ActionButton>
          {!canWithdraw && <span class="hint">The deposit unlocks at block #{w.unlockAt}.</span>}
        </div>
      )}
    </article>
  );
}

function randomUuid(): string {
  return `GPU-${crypto.randomUUID()}`;
}

function Register({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const [model, setModel] = useState<GpuModelName>("DevCpu");
  const [uuids, setUuids] = useState(() => randomUuid());
  const [vram, setVram] = useState("24");
  const [host, setHost] = useState("Server");
  const [cpu, setCpu] = useState("16");
  const [ram, setRam] = useState("64");
  const [disk, setDisk] = useState("500");
  const [region, setRegion] = useState("eu-west");
  const [price, setPrice] = useState("6");
  const [endpoint, setEndpoint] = useState("http://127.0.0.1:8700");
  const [agent, setAgent] = useState("");
  const { value: consts } = useLive(async () => ({
    fee: await chain.api.constants.WorkerRegistry.RegistrationFee(),
    deposit: await chain.api.constants.WorkerRegistry.WorkerDeposit(),
  }), [chain]);
  const submit = async () => {
    const list = uuids.split(/\s+/).filter(Boolean);
    if (list.length === 0) throw new Error("Give at least one GPU UUID.");
    const vramMib = Math.round(Number(vram) * 1024);
    if (!(vramMib > 0)) throw new Error("VRAM: a positive number of GiB.");
    const num = (s: string, what: string) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: a whole number.`);
      return n;
    };
    const tx = chain.api.tx.WorkerRegistry.register_worker({
      spec: {
        host_class: { type: host, value: undefined } as any,
        gpus: list.map((u) => ({ model: { type: model, value: undefined } as any, vram_mib: vramMib, uuid_hash: gpuUuidHash(u) as any })),
        cpu_cores: num(cpu, "CPU cores"),
        ram_mib: BigInt(num(ram, "RAM") * 1024),
        disk_gib: num(disk, "Disk"),
        region: new TextEncoder().encode(region.trim()),
        price_per_gpu_hour: parseTokens(price),
        endpoint: new TextEncoder().encode(endpoint.trim()),
        agent: agent.trim() || acct.address,
      },
    });
    await sendTx(chain, "Register a worker", tx, acct.polkadotSigner);
    setUuids(randomUuid());
  };
  return (
    <Card title="Register a worker" id="register">
      <p class="hint">
        Usually the provider agent (<code>kaisar-provider</code>) registers its machine itself. By hand: the worker starts
        pending verification until checkers (or governance) verify it.
        {consts && ` Registering costs a fee of ${fmtTokens(consts.fee)} and holds a deposit of ${fmtTokens(consts.deposit)}.`}
      </p>
      <div class="form-grid">
        <Field label="GPU model">
          <select value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value as GpuModelName)}>
            {GPU_MODELS.map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
        </Field>
        <Field label="GPU UUIDs" hint="one per GPU (NVML's GPU-…), hashed before they go on chain">
          <textarea rows={2} value={uuids} onInput={(e) => setUuids((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <Field label="VRAM per GPU (GiB)"><input value={vram} onInput={(e) => setVram((e.target as HTMLInputElement).value)} /></Field>
        <Field label="Host class">
          <select value={host} onChange={(e) => setHost((e.target as HTMLSelectElement).value)}>
            {["Pc", "Laptop", "Server", "BareMetal"].map((h) => <option key={h}>{h}</option>)}
          </select>
        </Field>
        <Field label="CPU cores"><input value={cpu} onInput={(e) => setCpu((e.target as HTMLInputElement).value)} /></Field>
        <Field label="RAM (GiB)"><input value={ram} onInput={(e) => setRam((e.target as HTMLInputElement).value)} /></Field>
        <Field label="Disk (GiB)"><input value={disk} onInput={(e) => setDisk((e.target as HTMLInputElement).value)} /></Field>
        <Field label="Region"><input value={region} onInput={(e) => setRegion((e.target as HTMLInputElement).value)} /></Field>
        <Field label="Price / GPU-hour (KAI)"><input value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} /></Field>
        <Field label="Agent endpoint"><input value={endpoint} onInput={(e) => setEndpoint((e.target as HTMLInputElement).value)} /></Field>
        <Field label="Agent account" hint="the key the agent signs with (default: this account)">
          <input value={agent} placeholder={acct.address} onInput={(e) => setAgent((e.target as HTMLInputElement).value)} />
        </Field>
      </div>
      <ActionButton class="primary" onClick={submit} testid="register-worker">Register worker</ActionButton>
    </Card>
  );
}
