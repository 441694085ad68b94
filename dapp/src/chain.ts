// The connection to the Kaisar chain: a PAPI client with the typed API generated from the
// checked-in runtime metadata, the live runtime's metadata (pallets present, error docs) and the
// best block number. No backend: everything is read from and sent to the chain's RPC node.
import { createClient, type PolkadotClient, type TypedApi } from "polkadot-api";
import { getWsProvider } from "polkadot-api/ws";
import { kaisar } from "@polkadot-api/descriptors";
import { decAnyMetadata, unifyMetadata, type UnifiedMetadata } from "@polkadot-api/substrate-bindings";
import { Store } from "./store.ts";
import { setTokenFormat } from "./format.ts";

export type KaisarApi = TypedApi<typeof kaisar>;

export interface Chain {
  url: string;
  client: PolkadotClient;
  api: KaisarApi;
  /** The API without descriptor checks, for runtime APIs newer than the checked-in metadata. */
  unsafe: any;
  pallets: Set<string>;
  apis: Set<string>;
  /** pallet -> error name -> docs */
  errorDocs: Map<string, Map<string, string>>;
  genesis: string;
  chainName: string;
  msPerBlock: number;
  blocksPerHour: number;
}

export type ConnState =
  | { kind: "idle" }
  | { kind: "connecting"; url: string }
  | { kind: "ready"; chain: Chain }
  | { kind: "error"; url: string; message: string };

export const connection = new Store<ConnState>({ kind: "idle" });
export const bestBlock = new Store<number>(0);
/** Bumped on every new best block: pages re-read what they show. */
export const tick = new Store<number>(0);

const DEFAULT_WS = "ws://127.0.0.1:9944";

/** The node URL: `?ws=` in the address, else the last one used, else the env default. */
export function initialUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get("ws");
  if (fromQuery) return fromQuery;
  const saved = localStorage.getItem("kaisar.ws");
  if (saved) return saved;
  return (import.meta as any).env?.VITE_KAISAR_WS || DEFAULT_WS;
}

let current: PolkadotClient | undefined;

export async function connect(url: string): Promise<Chain | undefined> {
  current?.destroy();
  current = undefined;
  connection.set({ kind: "connecting", url });
  try {
    const client = createClient(getWsProvider(url, { timeout: 10_000 }));
    current = client;
    const api = client.getTypedApi(kaisar);
    const timeout = new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error(`no answer from ${url} within 20 s`)), 20_000),
    );
    const fin = await Promise.race([client.getFinalizedBlock(), timeout]);
    const md = unifyMetadata(decAnyMetadata(await client.getMetadata(fin.hash)));
    const spec = await client.getChainSpecData();
    const props = (spec.properties ?? {}) as Record<string, unknown>;
    const decimals = Number(Array.isArray(props.tokenDecimals) ? props.tokenDecimals[0] : props.tokenDecimals ?? 18);
    const symbol = String(Array.isArray(props.tokenSymbol) ? props.tokenSymbol[0] : props.tokenSymbol ?? "KAI");
    const ss58 = Number(props.ss58Format ?? 42);
    setTokenFormat(Number.isFinite(decimals) ? decimals : 18, symbol || "KAI", Number.isInteger(ss58) ? ss58 : 42);
    const pallets = new Set(md.pallets.map((p) => p.name));
    const apis = new Set(md.apis.map((a) => a.name));
    const errorDocs = buildErrorDocs(md);
    let blocksPerHour = 600;
    if (pallets.has("Orders")) blocksPerHour = Number(await api.constants.Orders.BlocksPerHour());
    const chain: Chain = {
      url,
      client,
      api,
      unsafe: client.getUnsafeApi(),
      pallets,
      apis,
      errorDocs,
      genesis: spec.genesisHash,
      chainName: spec.name,
      msPerBlock: 3_600_000 / blocksPerHour,
      blocksPerHour,
    };
    localStorage.setItem("kaisar.ws", url);
    client.bestBlocks$.subscribe({
      next: (blocks) => {
        const n = blocks[0]?.number ?? 0;
        if (n !== bestBlock.get()) {
          bestBlock.set(n);
          tick.update((t) => t + 1);
        }
      },
      error: (e) => connection.set({ kind: "error", url, message: `lost the connection: ${e?.message ?? e}` }),
    });
    connection.set({ kind: "ready", chain });
    return chain;
  } catch (e: any) {
    connection.set({ kind: "error", url, message: e?.message ?? String(e) });
    return undefined;
  }
}

function buildErrorDocs(md: UnifiedMetadata): Map<string, Map<string, string>> {
  const byId = new Map(md.lookup.map((t) => [t.id, t]));
  const out = new Map<string, Map<string, string>>();
  for (const p of md.pallets) {
    if (!p.errors) continue;
    const t = byId.get(p.errors.type);
    if (!t || t.def.tag !== "variant") continue;
    const m = new Map<string, string>();
    for (const v of t.def.value) m.set(v.name, v.docs.join(" ").replace(/\s+/g, " ").trim());
    out.set(p.name, m);
  }
  return out;
}

const GENERIC_ERRORS: Record<string, string> = {
  BadOrigin: "This account may not do that (bad origin).",
  CannotLookup: "An account could not be looked up.",
  ConsumerRemaining: "The account still has consumers and cannot be removed.",
  NoProviders: "The account does not exist (no providers).",
  TooManyConsumers: "Too many consumers of the account.",
  Exhausted: "The block's resources are exhausted; try again.",
  Corruption: "The chain's state is corrupt.",
  Unavailable: "A resource is unavailable right now.",
  RootNotAllowed: "Root may not do this.",
};

const TOKEN_ERRORS: Record<string, string> = {
  FundsUnavailable: "Not enough free funds.",
  OnlyProvider: "The account would be reaped (its balance is its only provider).",
  BelowMinimum: "The amount is below the existential deposit.",
  CannotCreate: "The account cannot be created.",
  UnknownAsset: "Unknown asset.",
  Frozen: "The funds are frozen.",
  Unsupported: "Operation not supported.",
  CannotCreateHold: "Cannot create a hold on this account.",
  NotExpendable: "The account would be reaped by this transfer.",
  Blocked: "The account is blocked.",
};

/** A dispatch error (as PAPI decodes it) in words, from the runtime metadata's error docs. */
export function dispatchErrorText(chain: Chain | undefined, err: any): string {
  if (!err || typeof err !== "object") return String(err);
  if (err.type === "Module" && err.value) {
    const pallet = err.value.type as string;
    const name = err.value.value?.type as string | undefined;
    if (name) {
      const doc = chain?.errorDocs.get(pallet)?.get(name);
      return doc ? `${pallet}.${name}: ${doc}` : `${pallet}.${name}`;
    }
    return `an error of ${pallet}`;
  }
  if (err.type === "Token") return `Token.${err.value?.type}: ${TOKEN_ERRORS[err.value?.type] ?? ""}`.trim();
  if (err.type === "Arithmetic") return `Arithmetic.${err.value?.type}: an amount over- or underflowed.`;
  if (err.type === "Transactional") return `Transactional.${err.value?.type}`;
  if (GENERIC_ERRORS[err.type]) return `${err.type}: ${GENERIC_ERRORS[err.type]}`;
  return err.value?.type ? `${err.type}.${err.value.type}` : String(err.type);
}

/** Why a transaction was refused before it got into a block (PAPI's InvalidTxError payloads). */
export function invalidTxText(err: any): string {
  const inner = err?.value?.type ?? err?.type;
  const words: Record<string, string> = {
    Payment: "the account cannot pay the transaction fee",
    Stale: "the nonce is stale (a transaction of this account was sent meanwhile); try again",
    Future: "the nonce is in the future",
    BadProof: "the signature is invalid",
    AncientBirthBlock: "the transaction is too old",
    ExhaustsResources: "the block is full",
    Call: "the call is not allowed",
    BadSigner: "the signer is not allowed",
  };
  return `Refused by the node: ${words[inner] ?? JSON.stringify(err, (_, v) => (typeof v === "bigint" ? v.toString() : v))}`;
}
