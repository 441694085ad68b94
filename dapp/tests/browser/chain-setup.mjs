// The Node side of the browser test: dev accounts (@polkadot/keyring) connected to the same chain
// through @polkadot/api. They sign what the injected test wallet is asked to sign (exactly what
// the polkadot.js extension does), and set the chain up (funding, a sale round with sudo, a
// worker when no served network provides one, the agent's acceptance for that worker).
import { ApiPromise, WsProvider } from "@polkadot/api";
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady, blake2AsU8a } from "@polkadot/util-crypto";
import { u8aToHex, hexToU8a, stringToU8a, u8aConcat, u8aWrapBytes } from "@polkadot/util";
import sodium from "libsodium-wrappers";

export const UNIT = 10n ** 18n;

// cumulus' StorageWeightReclaim adds nothing to the payload (@polkadot/types does not know it).
const EXTRA_EXTENSIONS = { StorageWeightReclaim: { extrinsic: {}, payload: {} } };

export async function connectNode(ws) {
  await cryptoWaitReady();
  await sodium.ready;
  const api = await ApiPromise.create({
    provider: new WsProvider(ws),
    noInitWarn: true,
    throwOnConnect: true,
    signedExtensions: EXTRA_EXTENSIONS,
  });
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
  return { api, keyring };
}

/** Sign and submit; resolves when in a block, rejects with the module error's name and docs. */
export function submit(api, tx, pair, label = "") {
  return new Promise((resolve, reject) => {
    let unsub;
    tx.signAndSend(pair, { nonce: -1 }, (res) => {
      if (res.dispatchError) {
        let msg = res.dispatchError.toString();
        if (res.dispatchError.isModule) {
          const m = api.registry.findMetaError(res.dispatchError.asModule);
          msg = `${m.section}.${m.name}: ${m.docs.join(" ")}`;
        }
        unsub?.();
        reject(new Error(`${label}: ${msg}`));
      } else if (res.status.isInBlock || res.status.isFinalized) {
        const failedSudo = res.events.find((e) => e.event.section === "sudo" && e.event.method === "Sudid" && e.event.data[0].isErr);
        unsub?.();
        if (failedSudo) {
          const err = failedSudo.event.data[0].asErr;
          let msg = err.toString();
          if (err.isModule) {
            const m = api.registry.findMetaError(err.asModule);
            msg = `${m.section}.${m.name}`;
          }
          reject(new Error(`${label}: sudo call failed: ${msg}`));
        } else resolve(res);
      } else if (res.isError) {
        unsub?.();
        reject(new Error(`${label}: ${res.status.toString()}`));
      }
    })
      .then((u) => (unsub = u))
      .catch((e) => reject(new Error(`${label}: ${e.message}`)));
  });
}

/**
 * What the polkadot.js extension does with `signer.signPayload`: build the ExtrinsicPayload from
 * the JSON payload with the chain's registry and sign it with the account's key.
 */
export function makeSigner(api, pairs) {
  let id = 0;
  return async (payload) => {
    const pair = pairs.find((p) => p.address === payload.address);
    if (!pair) throw new Error(`the test wallet has no key for ${payload.address}`);
    api.registry.setSignedExtensions(payload.signedExtensions, EXTRA_EXTENSIONS);
    const ext = api.registry.createType("ExtrinsicPayload", payload, { version: payload.version });
    const { signature } = ext.sign(pair);
    return { id: ++id, signature };
  };
}

/** The extension's `signRaw`: sign bytes wrapped in <Bytes>...</Bytes>, as the extension does. */
export function makeRawSigner(pairs) {
  let id = 0;
  return async ({ address, data }) => {
    const pair = pairs.find((p) => p.address === address);
    if (!pair) throw new Error(`the test wallet has no key for ${address}`);
    return { id: ++id, signature: u8aToHex(pair.sign(u8aWrapBytes(hexToU8a(data)))) };
  };
}

/**
 * Should the test make blocks itself? Only on a chain that makes none on its own (Chopsticks in
 * Instant mode) and has `dev_newBlock`. A chain that produces blocks (a node, or the served
 * network whose ticker calls dev_newBlock) is never pushed. KAISAR_TEST_NEW_BLOCKS=0/1 decides.
 */
export async function shouldMakeBlocks(api) {
  const env = process.env.KAISAR_TEST_NEW_BLOCKS;
  if (env === "0" || env === "1") return env === "1";
  const start = await bestNumber(api);
  for (let i = 0; i < 14; i++) {
    await new Promise((r) => setTimeout(r, 500));
    if ((await bestNumber(api)) > start) return false;
  }
  try {
    const methods = (await api.rpc.rpc.methods()).methods.map((m) => m.toString());
    return methods.includes("dev_newBlock");
  } catch {
    return false;
  }
}

/**
 * A DevCpu worker with a live agent (not the test's own): Active, not paused, a free GPU, a
 * recent heartbeat. Its provider's key, if it is a dev key, is looked up so that the wallet can
 * show the provider page (the test never signs with it).
 */
export async function findServedWorker(api, keyring, log = () => {}, waitMs = Number(process.env.KAISAR_WAIT_WORKER ?? 180) * 1000) {
  const ownAgent = keyring.addFromUri("//Alice//kaisar-dapp-test-agent").address;
  const timeout = api.consts.workerRegistry.heartbeatTimeout.toNumber();
  const t0 = Date.now();
  for (let said = false; ; said = true) {
    const now = await bestNumber(api);
    let busy;
    for (const [key, opt] of await api.query.workerRegistry.workers.entries()) {
      const w = opt.unwrap();
      const model = w.spec.gpus[0]?.model.toString();
      if (model !== "DevCpu" || !w.status.isActive || w.paused.isTrue) continue;
      if (w.spec.agent.toString() === ownAgent) continue;
      if (now - w.lastHeartbeat.toNumber() > timeout) continue;
      const id = key.args[0].toBigInt();
      // A live worker with an agent: use it (never add a worker of our own beside it).
      if (w.spec.gpus.length - w.reservedGpus.toNumber() < 1) {
        busy = id;
        continue;
      }
      const provider = ["Bob", "Charlie", "Dave", "Eve", "Ferdie", "Alice"]
        .map((n) => keyring.addFromUri(`//${n}`, { name: n }))
        .find((p) => p.address === w.provider.toString());
      // The served network's provider key is a fresh one (not a dev key): then none.
      return { id, provider };
    }
    if (busy === undefined) return undefined;
    if (Date.now() - t0 > waitMs) throw new Error(`the live DevCpu worker #${busy} stayed busy for ${waitMs / 1000} s (an order holds its GPU)`);
    if (!said) log(`the live DevCpu worker #${busy} is busy: waiting for a free GPU`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

export async function newBlocks(api, count) {
  await api.rpc("dev_newBlock", { count }).catch(async () => {
    await api._rpcCore.provider.send("dev_newBlock", [{ count }]);
  });
}

export async function bestNumber(api) {
  return (await api.rpc.chain.getHeader()).number.toNumber();
}

/** Wait until the best block is at least `n` (making blocks where the engine can). */
export async function waitForBlock(api, n, makeBlocks, timeoutMs = 180_000) {
  const t0 = Date.now();
  for (;;) {
    const now = await bestNumber(api);
    if (now >= n) return now;
    if (makeBlocks) await api._rpcCore.provider.send("dev_newBlock", [{ count: n - now }]);
    else await new Promise((r) => setTimeout(r, 1000));
    if (Date.now() - t0 > timeoutMs) throw new Error(`block #${n} not reached in ${timeoutMs / 1000} s (at #${now})`);
  }
}

export const gpuUuidHash = (uuid) => u8aToHex(blake2AsU8a(u8aConcat(stringToU8a("kaisar-popw/gpu-uuid/v1"), stringToU8a(uuid)), 256));

/** Version-2 sealed box, as the provider agent makes it. */
export function sealV2(pkHex, text) {
  const body = sodium.crypto_box_seal(new TextEncoder().encode(text), hexToU8a(pkHex));
  return u8aToHex(new Uint8Array([2, ...body]));
}

/**
 * A DevCpu worker the test runs the agent side of itself (for chains without the served
 * network's real agent): deterministic keys so that runs on the same chain reuse it.
 */
export async function ensureOwnWorker(api, keyring, sudo, funder, log) {
  const provider = keyring.addFromUri("//Alice//kaisar-dapp-test-provider", { name: "Test provider" });
  const agent = keyring.addFromUri("//Alice//kaisar-dapp-test-agent");
  const existing = await api.query.workerRegistry.workerByAgent(agent.address);
  let id;
  if (existing.isSome) {
    id = existing.unwrap().toBigInt();
    log(`reusing the test's own worker #${id}`);
  } else {
    await submit(api, api.tx.balances.transferKeepAlive(provider.address, 1000n * UNIT), funder, "fund provider");
    await submit(api, api.tx.balances.transferKeepAlive(agent.address, 100n * UNIT), funder, "fund agent");
    const next = (await api.query.workerRegistry.nextWorkerId()).toBigInt();
    await submit(
      api,
      api.tx.workerRegistry.registerWorker({
        host_class: "Server",
        gpus: [{ model: "DevCpu", vram_mib: 8192, uuid_hash: gpuUuidHash(`GPU-kaisar-dapp-test-${agent.address}`) }],
        cpu_cores: 4,
        ram_mib: 16384,
        disk_gib: 100,
        region: "dapp-test",
        price_per_gpu_hour: 50n * UNIT,
        endpoint: "http://127.0.0.1:9",
        agent: agent.address,
      }),
      provider,
      "register the test worker",
    );
    id = next;
    log(`registered the test's own worker #${id}`);
  }
  const w = (await api.query.workerRegistry.workers(id)).unwrap();
  if (w.status.isPendingVerification || w.status.isSuspended) {
    await submit(api, api.tx.sudo.sudo(api.tx.workerRegistry.verifyWorker(id)), sudo, "verify the test worker");
  }
  await submit(api, api.tx.workerRegistry.heartbeat(id, 1), agent, "heartbeat");
  const after = (await api.query.workerRegistry.workers(id)).unwrap();
  if (after.paused.isTrue) await submit(api, api.tx.workerRegistry.resumeWorker(id), provider, "resume the test worker");
  return { id, provider, agent };
}
