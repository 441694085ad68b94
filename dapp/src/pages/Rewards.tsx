// Rewards of providers, license owners and operators: per-era grants, the vesting schedule as a
// chart, and claims.
import type { InjectedPolkadotAccount } from "polkadot-api/pjs-signer";
import { bestBlock, type Chain } from "../chain.ts";
import { fmtBlocks, fmtTokens } from "../format.ts";
import { ActionButton, Card, NeedAccount, NeedChain, useLive } from "../ui.tsx";
import { useStore } from "../store.ts";
import { sendTx } from "../tx.ts";

function beneficiaryText(b: { type: string; value: bigint | number }): string {
  switch (b.type) {
    case "Provider":
      return `provider of worker #${b.value}`;
    case "LicenseOwner":
      return `owner of license #${b.value}`;
    case "LicenseOperator":
      return `operator of license #${b.value}`;
    default:
      return b.type;
  }
}

export function RewardsPage() {
  return (
    <NeedChain pallet="Rewards" palletLabel="Rewards">
      {(chain) => <NeedAccount what="see your rewards">{(acct) => <Rewards chain={chain} acct={acct} />}</NeedAccount>}
    </NeedChain>
  );
}

function Rewards({ chain, acct }: { chain: Chain; acct: InjectedPolkadotAccount }) {
  const now = useStore(bestBlock);
  const api = chain.api;
  const { value, error, reload } = useLive(async () => {
    if (!chain.apis.has("RewardsApi")) throw new Error("This runtime has no RewardsApi.");
    const era = await api.apis.RewardsApi.current_era();
    const lines = await api.apis.RewardsApi.rewards_of(acct.address, Math.max(0, era - 29), era);
    const unlock = await api.constants.Rewards.UnlockPeriod();
    const budgets = new Map<number, number>();
    for (const l of lines) {
      if (l.closed && !budgets.has(l.era)) {
        const b = await api.query.Rewards.EraBudgets.getValue(l.era, { at: "best" });
        if (b) budgets.set(l.era, b.vests_from);
      }
    }
    return { era, lines, unlock, budgets };
  }, [chain, acct.address], 5);
  const ClaimButton = ({ line }: { line: { era: number; beneficiary: any } }) => (
    <ActionButton
      class="small"
      onClick={async () => {
        await sendTx(chain, `Claim era ${line.era} rewards`, api.tx.Rewards.claim({ era: line.era, beneficiary: line.beneficiary }), acct.polkadotSigner);
        reload();
      }}
    >
      Claim
    </ActionButton>
  );
  return (
    <Card title="Rewards" id="rewards">
      {error && <p class="error">{error}</p>}
      {!value ? (
        <p class="muted">Loading… (the rewards API reads every era's scores: it can take several seconds)</p>
      ) : (
        <>
          <p class="muted">
            Current era {value.era}. A closed era's grant vests linearly over {value.unlock} blocks (≈ {fmtBlocks(value.unlock, chain.msPerBlock)}) from its close; an accruing era shows what the current scores would get.
          </p>
          {value.lines.length === 0 ? (
            <p class="muted" data-testid="no-rewards">Nothing earned in the last 30 eras.</p>
          ) : (
            <>
              {value.lines
                .filter((l) => l.closed)
                .map((l) => {
                  const from = value.budgets.get(l.era);
                  return (
                    <article class="order" key={`${l.era}-${l.beneficiary.type}-${l.beneficiary.value}`}>
                      <header>
                        <h3>Era {l.era} · {beneficiaryText(l.beneficiary as any)}</h3>
                        <span class="badge ok">closed, vesting</span>
                      </header>
                      <p>
                        Grant {fmtTokens(l.grant, 6)} · vested {fmtTokens(l.vested, 6)} · paid {fmtTokens(l.paid, 6)} · <strong>claimable {fmtTokens(l.claimable, 6)}</strong>
                      </p>
                      {from !== undefined && <VestingChart grant={l.grant} paid={l.paid} from={from} period={value.unlock} now={now} ms={chain.msPerBlock} />}
                      {l.claimable > 0n && <ClaimButton line={l} />}
                    </article>
                  );
                })}
              {value.lines.some((l) => !l.closed) && (
                <>
                  <h3>Accruing eras</h3>
                  <p class="hint">Not closed yet: the grant is what the current scores would get of a full budget. A finished era is closed by its first claim, then vests.</p>
                  <div class="table-wrap">
                    <table class="cards-on-phone" data-testid="accruing-table">
                      <thead>
                        <tr><th>Era</th><th>As</th><th>Grant (so far)</th><th></th></tr>
                      </thead>
                      <tbody>
                        {value.lines
                          .filter((l) => !l.closed)
                          .map((l) => (
                            <tr key={`${l.era}-${l.beneficiary.type}-${l.beneficiary.value}`}>
                              <td data-label="Era">{l.era}{l.era === value.era ? " (now)" : ""}</td>
                              <td data-label="As">{beneficiaryText(l.beneficiary as any)}</td>
                              <td data-label="Grant">{fmtTokens(l.grant, 6)}</td>
                              <td data-label="">{l.era < value.era && l.grant > 0n && <ClaimButton line={l} />}</td>
                            </tr>
                          ))}
                      </tbody>
                    </table>
                  </div>
                </>
              )}
            </>
          )}
        </>
      )}
    </Card>
  );
}

/** Linear vesting of `grant` from block `from` over `period` blocks, with now and what was paid. */
export function VestingChart(p: { grant: bigint; paid: bigint; from: number; period: number; now: number; ms: number }) {
  const W = 320, H = 120, L = 8, R = 8, T = 10, B = 24;
  const span = Math.max(1, p.period);
  const end = p.from + span;
  const x = (b: number) => L + ((Math.min(Math.max(b, p.from), end) - p.from) / span) * (W - L - R);
  const y = (v: number) => H - B - v * (H - T - B);
  const paidFrac = p.grant > 0n ? Number((p.paid * 10000n) / p.grant) / 10000 : 0;
  const nowFrac = Math.min(1, Math.max(0, (p.now - p.from) / span));
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`vesting from block ${p.from} to ${end}`}>
      <line x1={L} y1={y(0)} x2={W - R} y2={y(0)} class="axis" />
      <polyline points={`${x(p.from)},${y(0)} ${x(end)},${y(1)}`} class="vest" />
      <polygon points={`${x(p.from)},${y(0)} ${x(p.from + nowFrac * span)},${y(nowFrac)} ${x(p.from + nowFrac * span)},${y(0)}`} class="vested" />
      <line x1={L} y1={y(paidFrac)} x2={W - R} y2={y(paidFrac)} class="paid" />
      <line x1={x(p.now)} y1={T} x2={x(p.now)} y2={y(0)} class="now" />
      <text x={L} y={H - 6} class="lbl">#{p.from}</text>
      <text x={W - R} y={H - 6} class="lbl" text-anchor="end">#{end} ({fmtBlocks(span, p.ms)})</text>
      <text x={Math.min(x(p.now) + 3, W - 60)} y={T + 8} class="lbl">now</text>
      <text x={W - R} y={y(paidFrac) - 3} class="lbl" text-anchor="end">paid {Math.round(paidFrac * 100)}%</text>
    </svg>
  );
}
