// Checker license owners and operators: the node sale (commit with a referral code, claim), the
// licenses owned, delegation, the operator commission and referral codes.
import { useState } from "preact/hooks";
import type { InjectedPolkadotAccount } from "polkadot-api/pjs-signer";
import { bestBlock, type Chain } from "../chain.ts";
import { bytesToText, fmtBlocks, fmtPerbill, fmtTokens, parsePercent, shortAddr } from "../format.ts";
import { ActionButton, Card, Field, Kv, NeedAccount, NeedChain, useLive } from "../ui.tsx";
import { useStore } from "../store.ts";
import { sendTx } from "../tx.ts";

export function LicensesPage() {
  return (
    <NeedChain pallet="CheckerLicenses" palletLabel="Checker licenses">
      {(chain) => (
        <NeedAccount what="buy and manage checker licenses">
          {(acct) => (
            <>
              <Sale chain={chain} acct={acct} />
              <MyLicenses chain={chain} acct={acct} />
              <Operator chain={chain} acct={acct} />
            </>
          )}
        </NeedAccount>
      )}
    </NeedChain>
  );
}

function Sale({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const now = useStore(bestBlock);
  const api = chain.api;
  const { value, error } = useLive(async () => {
    const rounds = (await api.query.CheckerLicenses.Rounds.getEntries({ at: "best" })).sort((a, b) => b.keyArgs[0] - a.keyArgs[0]);
    const mine = await Promise.all(rounds.map((r) => api.query.CheckerLicenses.Commitments.getValue(r.keyArgs[0], acct.address, { at: "best" })));
    return rounds.map((r, i) => ({ id: r.keyArgs[0], round: r.value, commitment: mine[i] }));
  }, [chain, acct.address]);
  const [form, setForm] = useState({ round: "", tier: "0", count: "1", code: "" });
  const open = value?.filter((r) => r.round.status.type === "Open" && now >= r.round.start && now <= r.round.end) ?? [];
  const roundId = form.round !== "" ? Number(form.round) : open[0]?.id;
  const commit = async () => {
    if (roundId === undefined) throw new Error("No sale round is open now.");
    const licenses = Number(form.count);
    if (!Number.isInteger(licenses) || licenses < 1) throw new Error("Licenses: a whole number, at least 1.");
    const code = form.code.trim();
    await sendTx(
      chain,
      `Commit to ${licenses} license(s) in round ${roundId}`,
      api.tx.CheckerLicenses.commit({
        round: roundId,
        tier: Number(form.tier),
        licenses,
        referral_code: code ? new TextEncoder().encode(code) : undefined,
        proof: [],
      }),
      acct.polkadotSigner,
    );
  };
  const claim = async (id: number, settled: boolean) => {
    if (!settled) await sendTx(chain, `Settle round ${id}`, api.tx.CheckerLicenses.settle({ round: id }), acct.polkadotSigner);
    await sendTx(chain, `Claim licenses of round ${id}`, api.tx.CheckerLicenses.claim({ round: id }), acct.polkadotSigner);
  };
  return (
    <Card title="Node sale" id="sale">
      {error && <p class="error">{error}</p>}
      {!value ? (
        <p class="muted">Loading…</p>
      ) : value.length === 0 ? (
        <p class="muted">No sale round has been opened on this chain.</p>
      ) : (
        <div class="table-wrap">
          <table class="cards-on-phone" data-testid="rounds-table">
            <thead>
              <tr><th>Round</th><th>Window</th><th>Tiers (price · committed / supply)</th><th>Cap</th><th>Yours</th><th></th></tr>
            </thead>
            <tbody>
              {value.map(({ id, round, commitment }) => {
                const state = round.status.type === "Settled" ? "settled" : now < round.start ? `opens in ${fmtBlocks(round.start - now, chain.msPerBlock)}` : now <= round.end ? `open, ${fmtBlocks(round.end - now + 1, chain.msPerBlock)} left` : "ended, not settled";
                return (
                  <tr key={id}>
                    <td data-label="Round">{id}</td>
                    <td data-label="Window">#{round.start}–#{round.end}<br /><span class="muted">{state}</span></td>
                    <td data-label="Tiers">
                      {round.tiers.map((t, i) => (
                        <div key={i}>tier {i}: {fmtTokens(t.price)} · {t.committed} / {t.supply}</div>
                      ))}
                    </td>
                    <td data-label="Cap">{round.cap_per_wallet}{round.allow_list_root ? " (allow-list)" : ""}</td>
                    <td data-label="Yours" data-testid={`commitment-${id}`}>
                      {commitment
                        ? `${commitment.tiers.map((t) => `${t.units} × tier ${t.tier}`).join(", ")} · ${fmtTokens(commitment.held)} held${commitment.referrer ? ` · referred by ${shortAddr(commitment.referrer)}` : ""}`
                        : <span class="muted">—</span>}
                    </td>
                    <td data-label="">
                      {commitment && now > round.end && (
                        <ActionButton testid={`claim-${id}`} onClick={() => claim(id, round.status.type === "Settled")}>Claim</ActionButton>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <h3>Commit</h3>
      <p class="hint">The full price is held until you claim after the window; an oversubscribed tier is allocated pro rata, the rest released. A referral code (not your own) gives a discount.</p>
      <div class="form-grid">
        <Field label="Round">
          <select value={roundId === undefined ? "" : String(roundId)} onChange={(e) => setForm({ ...form, round: (e.target as HTMLSelectElement).value })} data-testid="commit-round">
            {open.length === 0 && <option value="">no round open</option>}
            {open.map((r) => <option key={r.id} value={r.id}>round {r.id}</option>)}
          </select>
        </Field>
        <Field label="Tier"><input value={form.tier} onInput={(e) => setForm({ ...form, tier: (e.target as HTMLInputElement).value })} data-testid="commit-tier" /></Field>
        <Field label="Licenses"><input value={form.count} onInput={(e) => setForm({ ...form, count: (e.target as HTMLInputElement).value })} data-testid="commit-count" /></Field>
        <Field label="Referral code (optional)"><input value={form.code} onInput={(e) => setForm({ ...form, code: (e.target as HTMLInputElement).value })} data-testid="commit-code" /></Field>
      </div>
      <ActionButton class="primary" onClick={commit} disabled={open.length === 0} testid="commit">Commit</ActionButton>
    </Card>
  );
}

function MyLicenses({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const api = chain.api;
  const { value, error } = useLive(async () => {
    const collection = await api.query.CheckerLicenses.LicenseCollection.getValue({ at: "best" });
    const epoch = await api.query.CheckerLicenses.CurrentEpoch.getValue({ at: "best" });
    if (collection === undefined) return { epoch, rows: [] };
    const items = await api.query.Nfts.Account.getEntries(acct.address, collection, { at: "best" });
    const ids = items.map((i) => i.keyArgs[2]).sort((a, b) => a - b);
    const rows = await Promise.all(
      ids.map(async (id) => {
        const [info, delegation, slot] = await Promise.all([
          api.query.CheckerLicenses.Licenses.getValue(id, { at: "best" }),
          api.query.CheckerLicenses.Delegations.getValue(id, { at: "best" }),
          api.query.CheckerLicenses.SlotOf.getValue(id, { at: "best" }),
        ]);
        return { id, info, delegation, slot };
      }),
    );
    return { epoch, rows };
  }, [chain, acct.address]);
  const [operator, setOperator] = useState<Record<number, string>>({});
  return (
    <Card title="My licenses" id="licenses">
      {error && <p class="error">{error}</p>}
      {!value ? (
        <p class="muted">Loading…</p>
      ) : value.rows.length === 0 ? (
        <p class="muted">{acct.name ?? shortAddr(acct.address)} owns no checker licenses (checking epoch {value.epoch}).</p>
      ) : (
        <>
          <p class="muted">Checking epoch {value.epoch}. A delegation takes effect at the next epoch.</p>
          {value.rows.map(({ id, info, delegation, slot }) => (
            <article class="order" key={id} data-testid={`license-${id}`}>
              <header>
                <h3>License #{id}</h3>
                <span class={`badge ${slot !== undefined ? "ok" : delegation ? "warn" : "muted"}`} data-testid="license-state">
                  {slot !== undefined ? `checking (slot ${slot})` : delegation ? "delegated, slot from the next epoch" : "not delegated"}
                </span>
              </header>
              <Kv
                rows={[
                  ["Tier", `${info?.tier ?? "?"}${info?.round !== undefined ? ` · bought in round ${info.round}` : " · granted"}`],
                  ["Operator", <span data-testid="license-operator">{delegation ? (delegation.operator === acct.address ? "yourself" : delegation.operator) : "none"}</span>],
                ]}
              />
              <div class="actions">
                <input
                  class="wide"
                  placeholder="operator address, or empty for yourself"
                  value={operator[id] ?? ""}
                  onInput={(e) => setOperator({ ...operator, [id]: (e.target as HTMLInputElement).value })}
                  data-testid="delegate-operator"
                />
                <ActionButton
                  testid="delegate"
                  onClick={() =>
                    sendTx(chain, `Delegate license #${id}`, api.tx.CheckerLicenses.delegate({ license: id, operator: (operator[id] ?? "").trim() || acct.address }), acct.polkadotSigner)
                  }
                >
                  Delegate
                </ActionButton>
                {delegation && (
                  <ActionButton onClick={() => sendTx(chain, `Undelegate license #${id}`, api.tx.CheckerLicenses.undelegate({ license: id }), acct.polkadotSigner)}>
                    Undelegate
                  </ActionButton>
                )}
              </div>
            </article>
          ))}
        </>
      )}
    </Card>
  );
}

function Operator({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const api = chain.api;
  const { value } = useLive(async () => {
    const [op, code, referrer] = await Promise.all([
      api.query.CheckerLicenses.Operators.getValue(acct.address, { at: "best" }),
      api.query.CheckerLicenses.CodeOf.getValue(acct.address, { at: "best" }),
      api.query.CheckerLicenses.ReferrerOf.getValue(acct.address, { at: "best" }),
    ]);
    return { op, code, referrer };
  }, [chain, acct.address]);
  const [commission, setCommission] = useState("5");
  const [code, setCode] = useState("");
  return (
    <Card title="Operator and referrals" id="operator">
      {!value ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <Kv
            rows={[
              ["Commission", value.op ? `${fmtPerbill(value.op.commission)}${value.op.pending ? ` → ${fmtPerbill(value.op.pending[0])} from epoch ${value.op.pending[1]}` : ""} · ${value.op.delegated} license(s) delegated${value.op.max_licenses !== undefined ? ` (max ${value.op.max_licenses})` : ""}` : "not an operator yet"],
              ["Referral code", value.code ? <code data-testid="my-code">{bytesToText(value.code)}</code> : "none"],
              ["Referred by", value.referrer ? shortAddr(value.referrer) : "nobody"],
            ]}
          />
          <div class="actions">
            <input class="narrow" value={commission} onInput={(e) => setCommission((e.target as HTMLInputElement).value)} aria-label="commission percent" />
            <ActionButton onClick={() => sendTx(chain, "Set operator commission", api.tx.CheckerLicenses.set_commission({ commission: parsePercent(commission) }), acct.polkadotSigner)}>
              Set commission (%)
            </ActionButton>
          </div>
          {!value.code && (
            <div class="actions">
              <input class="narrow" value={code} placeholder="my-code" onInput={(e) => setCode((e.target as HTMLInputElement).value)} aria-label="referral code" />
              <ActionButton onClick={() => sendTx(chain, "Register referral code", api.tx.CheckerLicenses.register_referral_code({ code: new TextEncoder().encode(code.trim()) }), acct.polkadotSigner)}>
                Register referral code
              </ActionButton>
            </div>
          )}
        </>
      )}
    </Card>
  );
}
