// Browser wallets (polkadot.js extension, Talisman, SubWallet, ...) through the injected-extension
// interface (`window.injectedWeb3`), via PAPI's pjs-signer.
import {
  connectInjectedExtension,
  getInjectedExtensions,
  type InjectedExtension,
  type InjectedPolkadotAccount,
} from "polkadot-api/pjs-signer";
import { AccountId } from "@polkadot-api/substrate-bindings";
import { Store } from "./store.ts";
import { ss58Prefix } from "./format.ts";

/** The account's address in the chain's SS58 format (what storage reads return), so that a
 * wallet showing another network's format still finds its orders, workers and licenses. */
function normalize(a: InjectedPolkadotAccount): InjectedPolkadotAccount {
  try {
    const address = AccountId(ss58Prefix()).dec(AccountId().enc(a.address));
    return address === a.address ? a : { ...a, address };
  } catch {
    return a;
  }
}

export interface WalletState {
  available: string[];
  extension?: InjectedExtension;
  accounts: InjectedPolkadotAccount[];
  selected?: InjectedPolkadotAccount;
  error?: string;
}

export const wallet = new Store<WalletState>({ available: [], accounts: [] });

const NAMES: Record<string, string> = {
  "polkadot-js": "polkadot{.js}",
  talisman: "Talisman",
  "subwallet-js": "SubWallet",
};
export const extensionLabel = (id: string) => NAMES[id] ?? id;

/** Look for injected extensions (they may inject a little after the page loads). */
export async function detectExtensions(): Promise<string[]> {
  for (let i = 0; i < 10; i++) {
    const found = getInjectedExtensions();
    if (found.length > 0) {
      wallet.update((w) => ({ ...w, available: found }));
      return found;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  wallet.update((w) => ({ ...w, available: [] }));
  return [];
}

let unsubscribe: (() => void) | undefined;

export async function connectWallet(id: string): Promise<void> {
  try {
    const ext = await connectInjectedExtension(id, "Kaisar");
    unsubscribe?.();
    const apply = (raw: InjectedPolkadotAccount[]) => {
      const accounts = raw.map(normalize);
      const remembered = localStorage.getItem("kaisar.account");
      const prev = wallet.get().selected?.address ?? remembered;
      const selected = accounts.find((a) => a.address === prev) ?? accounts[0];
      wallet.update((w) => ({ ...w, extension: ext, accounts, selected, error: undefined }));
    };
    apply(ext.getAccounts());
    unsubscribe = ext.subscribe(apply);
    localStorage.setItem("kaisar.wallet", id);
  } catch (e: any) {
    wallet.update((w) => ({ ...w, error: `Could not connect to ${extensionLabel(id)}: ${e?.message ?? e}` }));
  }
}

export function selectAccount(address: string) {
  const w = wallet.get();
  const selected = w.accounts.find((a) => a.address === address);
  if (selected) {
    localStorage.setItem("kaisar.account", address);
    wallet.set({ ...w, selected });
  }
}

/** Reconnect to the wallet used last time, if it is still there. */
export async function autoConnect(): Promise<void> {
  const found = await detectExtensions();
  const last = localStorage.getItem("kaisar.wallet");
  if (last && found.includes(last)) await connectWallet(last);
}
