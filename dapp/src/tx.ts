// Sending transactions through the user's wallet, with their progress (signing, in block,
// finalized) and failures in words.
import type { PolkadotSigner, TxEvent } from "polkadot-api";
import { Store } from "./store.ts";
import { dispatchErrorText, invalidTxText, type Chain } from "./chain.ts";

export type Phase = "signing" | "broadcast" | "inBlock" | "finalized" | "failed";

export interface TxEntry {
  id: number;
  label: string;
  phase: Phase;
  block?: number;
  error?: string;
  at: number;
  /** When it reached its last state (finalized): the log hides it a little later. */
  doneAt?: number;
}

export const txLog = new Store<TxEntry[]>([]);
let nextId = 1;

function upsert(e: TxEntry) {
  txLog.update((list) => {
    const rest = list.filter((x) => x.id !== e.id);
    return [e, ...rest].slice(0, 8);
  });
}

export interface TxResult {
  ok: true;
  events: Array<{ type: string; value: { type: string; value: any } }>;
  block: { hash: string; number: number };
}

/** Anything with PAPI's `signSubmitAndWatch` (a typed transaction). */
export interface Submittable {
  signSubmitAndWatch(signer: PolkadotSigner, options?: any): { subscribe: (o: any) => { unsubscribe(): void } };
}

/**
 * Sign with the wallet and submit; resolves once the transaction is in a block and succeeded
 * (the log entry goes on to "finalized"), rejects with the error in words otherwise.
 */
export function sendTx(chain: Chain, label: string, tx: Submittable, signer: PolkadotSigner): Promise<TxResult> {
  const entry: TxEntry = { id: nextId++, label, phase: "signing", at: Date.now() };
  upsert(entry);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (msg: string) => {
      upsert({ ...entry, phase: "failed", error: msg });
      if (!settled) {
        settled = true;
        reject(new Error(msg));
      }
    };
    let sub: { unsubscribe(): void } | undefined;
    try {
      sub = tx.signSubmitAndWatch(signer).subscribe({
        next: (ev: TxEvent) => {
          switch (ev.type) {
            case "signed":
              upsert({ ...entry, phase: "broadcast" });
              break;
            case "broadcasted":
              upsert({ ...entry, phase: "broadcast" });
              break;
            case "txBestBlocksState":
              if (ev.found) {
                if (!ev.ok) {
                  fail(dispatchErrorText(chain, ev.dispatchError));
                  sub?.unsubscribe();
                  return;
                }
                upsert({ ...entry, phase: "inBlock", block: ev.block.number });
                if (!settled) {
                  settled = true;
                  resolve({ ok: true, events: ev.events as any, block: ev.block });
                }
              }
              break;
            case "finalized":
              if (!ev.ok) {
                fail(dispatchErrorText(chain, ev.dispatchError));
                return;
              }
              upsert({ ...entry, phase: "finalized", block: ev.block.number, doneAt: Date.now() });
              if (!settled) {
                settled = true;
                resolve({ ok: true, events: ev.events as any, block: ev.block });
              }
              break;
          }
        },
        error: (e: any) => {
          const msg = String(e?.message ?? e);
          if (e?.error !== undefined) fail(invalidTxText(e.error));
          else if (/cancel|reject|denied/i.test(msg)) fail("Signing was cancelled in the wallet.");
          else fail(msg);
        },
      });
    } catch (e: any) {
      fail(String(e?.message ?? e));
    }
  });
}

export function dismissTx(id: number) {
  txLog.update((list) => list.filter((x) => x.id !== id));
}

/** The events of one pallet and name from a transaction's result. */
export function findEvents(r: TxResult, pallet: string, name: string): any[] {
  return r.events.filter((e) => e.type === pallet && e.value.type === name).map((e) => e.value.value);
}
