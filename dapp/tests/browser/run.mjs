// The dApp's browser test: Debian's chromium driven by playwright-core against a running Kaisar
// chain (KAISAR_WS), with a test wallet injected through the extension interface
// (window.injectedWeb3) whose signPayload is forwarded to Node, where @polkadot/keyring dev keys
// sign the real extrinsics. Asserts on rendered text; writes screenshots of every page.
//
//   KAISAR_WS=ws://127.0.0.1:9950 npm run test:browser
//
// Env: KAISAR_WS (required), KAISAR_DAPP_REAL_AGENT=1 (fail unless a served network's real
// agent serves the order; scripts/e2e sets it), KAISAR_DAPP_ARTIFACTS (screenshots; default dapp/test-results/),
// CHROMIUM (default /usr/bin/chromium), KAISAR_TEST_FUNDER (default //Alice, also sudo),
// KAISAR_ACCEPT_TIMEOUT (seconds to wait for a real agent to accept; default 90),
// KAISAR_WAIT_WORKER (seconds to wait for a busy served worker to be free; default 180).
import { chromium } from "playwright-core";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  UNIT, bestNumber, connectNode, findServedWorker, shouldMakeBlocks, ensureOwnWorker, makeRawSigner, makeSigner, sealV2, submit, waitForBlock,
} from "./chain-setup.mjs";

const dappDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WS = process.env.KAISAR_WS;
const OUT = process.env.KAISAR_DAPP_ARTIFACTS ?? join(dappDir, "test-results");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ACCEPT_TIMEOUT = Number(process.env.KAISAR_ACCEPT_TIMEOUT ?? 90) * 1000;
const t0 = Date.now();
const log = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}`);
const die = (m) => {
  console.error(`browser test: ${m}`);
  process.exit(2);
};
if (!WS) die("set KAISAR_WS to the chain's WebSocket URL (scripts/chain prints it)");
if (!existsSync(CHROMIUM)) die(`no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
mkdirSync(OUT, { recursive: true });
rmSync(join(OUT, "failure.png"), { force: true });

// 1. Build if dist/ is missing or older than the sources.
function newest(dir) {
  let m = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    m = Math.max(m, f.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return m;
}
const distIndex = join(dappDir, "dist", "index.html");
const srcTime = Math.max(newest(join(dappDir, "src")), statSync(join(dappDir, "index.html")).mtimeMs);
if (!existsSync(distIndex) || statSync(distIndex).mtimeMs < srcTime) {
  log("building the dApp (npm run build)");
  const r = spawnSync("npm", ["run", "build"], { cwd: dappDir, stdio: "inherit" });
  if (r.status !== 0) die("the build failed");
}

// 2. Serve dist/ with vite preview on a free port.
const port = await new Promise((res) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const preview = spawn(join(dappDir, "node_modules", ".bin", "vite"), ["preview", "--port", String(port), "--strictPort", "--host", "127.0.0.1"], {
  cwd: dappDir,
  stdio: ["ignore", "pipe", "pipe"],
});
const base = `http://127.0.0.1:${port}/`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(base)).ok) break;
  } catch {}
  if (i > 100) die("vite preview did not start");
  await new Promise((r) => setTimeout(r, 100));
}
log(`serving dist/ at ${base}; chain ${WS}`);

let context;
let api;
let testUser;
let page;
const consoleErrors = [];
let failed = false;
const cleanup = async () => {
  await context?.close().catch(() => {});
  // Leave no order of the test's user open (a failed run must not keep a worker's GPUs).
  if (api && testUser) {
    for (const [key, opt] of await api.query.orders.orders.entries().catch(() => [])) {
      const o = opt.unwrap();
      if (o.user.toString() !== testUser.address) continue;
      if (!(o.status.isPending || o.status.isRunning)) continue;
      await submit(api, api.tx.orders.cancelOrder(key.args[0]), testUser, `cleanup: cancel order #${key.args[0]}`)
        .then(() => log(`cleanup: cancelled the test's open order #${key.args[0]}`))
        .catch((e) => log(`cleanup: ${e.message}`));
    }
  }
  await api?.disconnect().catch(() => {});
  preview.kill("SIGTERM");
};

try {
  await run();
} catch (e) {
  failed = true;
  console.error(`\nFAILED: ${e.stack ?? e}`);
  if (page) {
    await page.screenshot({ path: join(OUT, "failure.png"), fullPage: true }).catch(() => {});
    const body = await page.locator("body").innerText().catch(() => "");
    console.error(`page text at the failure:\n${body.slice(0, 3000)}`);
  }
  if (consoleErrors.length) console.error(`browser console errors:\n${consoleErrors.slice(-10).join("\n")}`);
}
await cleanup();
log(failed ? "browser test failed" : `browser test passed; screenshots in ${OUT}`);
process.exit(failed ? 1 : 0);

async function run() {
  // 3. Accounts: fresh ones per run (so earlier runs on the same chain do not interfere),
  // funded by the funder (//Alice, the dev chain's sudo).
  const node = await connectNode(WS);
  api = node.api;
  const { keyring } = node;
  const funder = keyring.addFromUri(process.env.KAISAR_TEST_FUNDER ?? "//Alice");
  const tag = Math.random().toString(36).slice(2, 8);
  const user = keyring.addFromUri(`//Alice//dapp-user-${tag}`, { name: "Test user" });
  testUser = user;
  const buyer = keyring.addFromUri(`//Alice//dapp-buyer-${tag}`, { name: "License buyer" });
  const referrer = keyring.addFromUri(`//Alice//dapp-referrer-${tag}`, { name: "Referrer" });
  const makeBlocks = await shouldMakeBlocks(api);
  log(`run ${tag}: user ${user.address}, buyer ${buyer.address}; blocks on demand: ${makeBlocks}`);
  for (const [who, amount] of [[user, 1000n], [buyer, 1000n], [referrer, 100n]])
    await submit(api, api.tx.balances.transferKeepAlive(who.address, amount * UNIT), funder, "fund a test account");

  // A worker to order from: a live one with a real agent (the served network: kaisar-demo
  // --serve), else one the test registers, verifies with sudo and plays the agent of.
  const served = await findServedWorker(api, keyring, log);
  // scripts/e2e runs this against the demo's served network: there the real agent must serve the
  // order (KAISAR_DAPP_REAL_AGENT=1), never the test playing its part.
  if (!served && process.env.KAISAR_DAPP_REAL_AGENT === "1")
    throw new Error("KAISAR_DAPP_REAL_AGENT=1 but no live DevCpu worker with a real agent is on this chain");
  const own = served ? undefined : await ensureOwnWorker(api, keyring, funder, funder, log);
  if (served) log(`a live DevCpu worker is there (#${served.id}): ordering from the real agent`);
  const provider = served ? served.provider : own.provider;

  // 4. The browser, with the test wallet injected as the polkadot.js extension.
  const userDir = mkdtempSync(join(tmpdir(), "kaisar-dapp-chromium-"));
  context = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  process.on("exit", () => rmSync(userDir, { recursive: true, force: true }));
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  // The provider's key only lets the wallet show the provider page; the test never signs with a
  // served network's provider key.
  // On a served network an operator's rewards are shown too (view only: the test never signs
  // with a daemon's key).
  const operator = served ? keyring.addFromUri("//Ferdie", { name: "Ferdie (view only)" }) : undefined;
  const pairs = [user, buyer, ...(provider ? [provider] : []), ...(operator ? [operator] : [])];
  await page.exposeFunction("kaisarTestSign", makeSigner(api, pairs));
  await page.exposeFunction("kaisarTestSignRaw", makeRawSigner(pairs));
  await page.addInitScript((accounts) => {
    const list = accounts.map((a) => ({ address: a.address, name: a.name, type: "sr25519" }));
    window.injectedWeb3 = {
      "polkadot-js": {
        version: "0.0.0-test",
        enable: async () => ({
          accounts: { get: async () => list, subscribe: (cb) => (setTimeout(() => cb(list), 0), () => {}) },
          signer: {
            signPayload: (payload) => window.kaisarTestSign(payload),
            signRaw: (raw) => window.kaisarTestSignRaw(raw),
          },
        }),
      },
    };
  }, pairs.map((p) => ({ address: p.address, name: p.meta.name ?? "Provider" })));

  const shot = async (name) => {
    // Finished transactions' notes would cover the page: dismiss them (failed ones stay).
    for (const b of await page.locator(".tx-finalized .tx-close, .tx-inBlock .tx-close").all()) await b.click({ timeout: 500 }).catch(() => {});
    await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  };
  const text = (sel) => page.locator(sel).first().innerText();
  const expectText = async (locator, re, timeout = 30_000, what = "") => {
    const t1 = Date.now();
    for (;;) {
      const t = await locator.innerText().catch(() => "");
      if (re.test(t)) return t;
      if (Date.now() - t1 > timeout) throw new Error(`${what || locator}: expected ${re}, got "${t.slice(0, 400)}"`);
      await page.waitForTimeout(250);
    }
  };
  const selectAccount = async (address) => page.selectOption('[data-testid="account-select"]', address);
  const goto = async (route) => {
    await page.evaluate((r) => (location.hash = r), route);
    await page.waitForTimeout(300);
  };
  const lastTx = () => page.locator('[data-testid="txlog"] .tx').first();
  const txDone = async (re = /in block|finalized/) => {
    const t = await expectText(lastTx(), /in block #\d+|failed/, 60_000, "transaction");
    if (/failed/.test(t)) throw new Error(`transaction failed: ${t}`);
    return t;
  };

  // 5. Connect to the chain and the wallet.
  await page.goto(`${base}?ws=${encodeURIComponent(WS)}#/market`);
  await expectText(page.locator('[data-testid="chain-status"]'), /#\d+/, 30_000, "chain status");
  await page.click('[data-testid="connect-polkadot-js"]');
  await page.waitForSelector('[data-testid="account-select"]');
  await selectAccount(user.address);
  await expectText(page.locator('[data-testid="balance"]'), /1,000|999/, 20_000, "balance");
  await expectText(page.locator('[data-testid="workers-table"]'), /DevCpu/, 20_000, "workers table");
  log("connected: chain and test wallet");
  await shot("01-marketplace");

  // 6. A refused quote says why.
  await page.fill('[data-testid="order-maxprice"]', "0.000001");
  await page.click('[data-testid="get-quote"]');
  const refused = await expectText(page.locator('[data-testid="quote-refused"]'), /below every matching worker|PriceTooLow|lowest/, 20_000, "refused quote");
  log(`refused quote shown: ${refused.replace(/\s+/g, " ").slice(0, 120)}`);
  // place_order's own error, with its documentation: a duration below the minimum.
  await page.fill('[data-testid="order-maxprice"]', "100");
  await page.fill('[data-testid="order-hours"]', "0.001");
  await page.click('[data-testid="get-quote"]');
  const tooShort = await expectText(page.locator('[data-testid="quote-refused"]'), /Orders\.DurationTooShort: `duration` is below/, 20_000, "refused quote (dispatch error)");
  log(`refused quote shown: ${tooShort.replace(/\s+/g, " ").slice(0, 120)}`);

  // 7. Quote, then order.
  await page.fill('[data-testid="order-maxprice"]', "100");
  await page.fill('[data-testid="order-hours"]', "0.1");
  // The image the served network's agent runs (built on its host), with its HTTP port.
  await page.fill('[data-testid="order-image"]', "localhost/kaisar-demo-app:latest");
  await page.fill('[data-testid="order-ports"]', "8080");
  await page.click('[data-testid="get-quote"]');
  const quote = await expectText(page.locator('[data-testid="quote"]'), /You pay/, 20_000, "quote");
  const quotedWorker = BigInt(/Worker\s*#(\d+)/.exec(quote)[1]);
  log(`quote: worker #${quotedWorker}, ${/You pay \(escrow\)\s*([^\n]+)/.exec(quote)?.[1]}`);
  await shot("02-quote");
  await page.click('[data-testid="place-order"]');
  const placed = await expectText(page.locator('[data-testid="order-placed"]'), /Order #\d+ placed/, 60_000, "order placed");
  const orderId = BigInt(/Order #(\d+)/.exec(placed)[1]);
  log(`placed order #${orderId} through the wallet`);

  // 8. The agent accepts: the test's own worker, or the served network's real agent.
  const order = (await api.query.orders.orders(orderId)).unwrap();
  const token = `dapp-test-token-${tag}`;
  const ownAgent = own && order.worker.toBigInt() === own.id;
  if (ownAgent) {
    const details = JSON.stringify({ order_id: Number(orderId), host: "127.0.0.1", ports: [{ container: 8080, host: 40080 }], token });
    await submit(api, api.tx.orders.acceptOrder(orderId, sealV2(order.userPublicKey.toHex(), details)), own.agent, "accept the order (as the agent)");
    log(`accepted order #${orderId} as the test worker's agent (access sealed with version 2)`);
  } else {
    log(`order #${orderId} is on worker #${order.worker}: waiting up to ${ACCEPT_TIMEOUT / 1000} s for its agent`);
  }

  // 9. My orders: Running, access details decrypted in the browser.
  await goto("#/orders");
  const card = page.locator(`[data-testid="order-${orderId}"]`);
  await expectText(card.locator('[data-testid="order-status"]'), /Running/, ACCEPT_TIMEOUT, "order status");
  const host = await expectText(card.locator('[data-testid="access-host"]'), /\S+/, 30_000, "access host");
  const shownToken = await text(`[data-testid="order-${orderId}"] [data-testid="access-token"]`);
  if (ownAgent && shownToken !== token) throw new Error(`decrypted token "${shownToken}" is not "${token}"`);
  log(`access details decrypted in the browser: host ${host}, token ${shownToken.slice(0, 12)}…`);
  if (!ownAgent) {
    // The real container: the decrypted token opens it, nothing else does.
    const ports = await text(`[data-testid="order-${orderId}"] [data-testid="access-ports"]`);
    const hostPort = /8080 → ([^,\s]+)/.exec(ports)?.[1];
    if (!hostPort) throw new Error(`no published port for 8080 in "${ports}"`);
    const url = `http://${hostPort}/`;
    // The demo image serves its KAISAR_ACCESS_TOKEN: the same token the browser decrypted.
    let status = 0, body = "";
    for (let i = 0; i < 30 && status !== 200; i++) {
      [status, body] = await fetch(url).then(async (r) => [r.status, await r.text()]).catch(() => [0, ""]);
      if (status !== 200) await new Promise((r) => setTimeout(r, 1000));
    }
    if (status !== 200 || body.trim() !== shownToken) throw new Error(`container at ${url}: status ${status}, body "${body.slice(0, 80)}" (want 200 and the decrypted token)`);
    log(`the container at ${url} answers 200 with the token the browser decrypted`);
  }
  await shot("03-my-orders-running");

  // 10. Cancel: refunded (tokens; the agent reported nothing, or what it reported settles).
  await card.locator('[data-testid="cancel-order"]').click();
  await txDone();
  const st = await expectText(card.locator('[data-testid="order-status"]'), /Cancelled|Settling/, 30_000, "cancelled status");
  if (/Settling/.test(st)) {
    log("cancelled with reported usage unmatured: waiting for it to settle");
    if (makeBlocks) await api._rpcCore.provider.send("dev_newBlock", [{ count: 25 }]);
    await expectText(card.locator('[data-testid="order-status"]'), /Cancelled/, 240_000, "settled status");
  }
  const refund = await expectText(card.locator('[data-testid="order-refund"]'), /\d/, 30_000, "refund");
  log(`cancelled; refund shown: ${refund}`);
  const onChain = (await api.query.orders.orders(orderId)).unwrap();
  const refundedOnChain = onChain.totalCost.toBigInt() - onChain.paidSoFar.toBigInt();
  if (refundedOnChain <= 0n) throw new Error("nothing was refunded on chain");
  await expectText(page.locator('[data-testid="points-balance"]'), /points/, 10_000, "points balance");
  await page.click('[data-testid="toggle-refund-pref"]');
  await txDone();
  await expectText(page.locator('[data-testid="refund-pref"]'), /as tokens/, 20_000, "refund preference");
  log("refund preference switched to tokens through the wallet");
  await shot("04-my-orders-cancelled");

  // The order's key exports as a file in the CLI's key-file format.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export all as a file" }).click()]);
  const keyFile = readFileSync(await download.path(), "utf8");
  const pk = order.userPublicKey.toHex().slice(2);
  if (!new RegExp(`order=${orderId}\npublic=${pk}\nsecret=[0-9a-f]{64}`).test(keyFile)) throw new Error(`the exported key file is not the order's key:\n${keyFile.replace(/secret=\w+/g, "secret=…")}`);
  log(`exported the order's access key as a file (${download.suggestedFilename()})`);

  // 11. Licenses: commit with the referral code, claim after the window, delegate.
  // A sale round (sudo) and the referrer's code.
  const code = `dapp${tag}`;
  await submit(api, api.tx.checkerLicenses.registerReferralCode(code), referrer, "register referral code");
  const now0 = await bestNumber(api);
  const roundLen = makeBlocks ? 8 : 15;
  // A chain that makes its own blocks may be a block or two further when the call lands: the
  // window must not start in the past.
  const start = now0 + (makeBlocks ? 1 : 4);
  const roundEnd = start + roundLen;
  const round = (await api.query.checkerLicenses.nextRoundId()).toNumber();
  await submit(
    api,
    api.tx.sudo.sudo(api.tx.checkerLicenses.openRound(start, roundEnd, [{ price: 10n * UNIT, supply: 100 }], 5, null, funder.address)),
    funder,
    "open a sale round",
  );
  await waitForBlock(api, start, makeBlocks);
  log(`round ${round} open from #${start} until #${roundEnd}; referral code ${code}`);

  await selectAccount(buyer.address);
  await goto("#/licenses");
  await expectText(page.locator('[data-testid="rounds-table"]'), new RegExp(`open`), 20_000, "rounds");
  await page.selectOption('[data-testid="commit-round"]', String(round));
  await page.fill('[data-testid="commit-count"]', "2");
  await page.fill('[data-testid="commit-code"]', code.toUpperCase());
  await page.click('[data-testid="commit"]');
  await txDone();
  await expectText(page.locator(`[data-testid="commitment-${round}"]`), /2 × tier 0.*referred by/s, 20_000, "commitment");
  log(`committed to 2 licenses in round ${round} with code ${code.toUpperCase()}`);
  await shot("05-licenses-committed");

  // A failed transaction shows the pallet's error in words: the referrer's code is taken.
  await page.fill('input[aria-label="referral code"]', code);
  await page.getByRole("button", { name: "Register referral code" }).click();
  const err = await expectText(lastTx(), /failed/, 60_000, "failing tx");
  if (!/CheckerLicenses\.\w+: \w+/.test(err)) throw new Error(`the failure is not in words: ${err}`);
  log(`failed tx shown in words: ${err.split("\n").pop()}`);
  await shot("05b-failed-transaction");
  await lastTx().locator(".tx-close").click();

  const end = (await api.query.checkerLicenses.rounds(round)).unwrap().end.toNumber();
  await waitForBlock(api, end + 1, makeBlocks);
  await page.locator(`[data-testid="claim-${round}"] button, button[data-testid="claim-${round}"]`).first().click();
  await expectText(page.locator('[data-testid^="license-"]').first(), /License #\d+/, 60_000, "license minted");
  const lic = page.locator('article[data-testid^="license-"]').first();
  log(`claimed: ${await lic.locator("h3").innerText()}`);
  await lic.locator('[data-testid="delegate"]').click();
  await txDone();
  await expectText(lic.locator('[data-testid="license-operator"]'), /yourself/, 20_000, "delegation");
  log("delegated the license to the buyer itself (slot from the next epoch)");
  await shot("06-licenses-delegated");

  // Operator commission, then undelegating the license again.
  await page.fill('input[aria-label="commission percent"]', "2.5");
  await page.getByRole("button", { name: "Set commission (%)" }).click();
  await txDone();
  await expectText(page.locator("#operator"), /Commission\s+2\.5%/, 20_000, "commission");
  await lic.getByRole("button", { name: "Undelegate" }).click();
  await txDone();
  await expectText(lic.locator('[data-testid="license-operator"]'), /none/, 20_000, "undelegation");
  log("set an operator commission of 2.5% and undelegated the license");

  // 12. The other pages render.
  await selectAccount((provider ?? user).address);
  await goto("#/provider");
  await expectText(page.locator("main"), provider ? /Worker #\d+/ : /No workers of/, 20_000, "provider page");
  if (own) {
    // The provider sets its price through the wallet (the same price: later runs quote it too).
    const card = page.locator(`[data-testid="worker-${own.id}"]`);
    await card.locator('[data-testid="new-price"]').fill("50");
    await card.locator('[data-testid="set-price"]').click();
    await txDone();
    await expectText(card, /50 KAI per GPU-hour/, 20_000, "price");
    log(`the provider set the price of worker #${own.id} (update_worker) through the wallet`);
  }
  await shot("07-provider");
  await goto("#/rewards");
  await expectText(page.locator("main"), /Current era \d+/, 90_000, "rewards page");
  await shot("08-rewards");
  if (operator) {
    // Close the operator's oldest finished era (permissionless, what a claim does first) so that
    // a grant has a vesting schedule to draw.
    const era = (await api.call.rewardsApi.currentEra()).toNumber();
    const lines = await api.call.rewardsApi.rewardsOf(operator.address, Math.max(0, era - 29), era);
    // The newest era that can be closed (the page lists the last 30 eras, and eras are short on
    // a devnet): try from the newest finished one down.
    const open = lines.filter((l) => !l.closed.isTrue && l.era.toNumber() < era).map((l) => l.era.toNumber()).reverse();
    let closed;
    for (const e of open.slice(0, 4)) {
      closed = await submit(api, api.tx.rewards.closeEra(e), buyer, `close era ${e}`).then(() => e, () => undefined);
      if (closed !== undefined) break;
    }
    log(closed !== undefined ? `closed reward era ${closed} (permissionless) for the vesting chart` : "no reward era could be closed yet");
    await selectAccount(operator.address);
    await expectText(page.locator("main"), /operator of license/, 90_000, "operator rewards");
    if (closed !== undefined) await page.waitForSelector("svg.chart", { timeout: 90_000 });
    log(`rewards of ${operator.meta.name}: ${await page.locator("main article").count()} closed grant(s) with a vesting chart, ${await page.locator("[data-testid=accruing-table] tbody tr").count()} accruing`);
    await shot("09-rewards-operator");
  }

  // 13. Phone width: no page is wider than the screen.
  await page.setViewportSize({ width: 375, height: 800 });
  await selectAccount(user.address);
  for (const [route, name] of [["#/market", "market"], ["#/orders", "orders"], ["#/provider", "provider"], ["#/licenses", "licenses"], ["#/rewards", "rewards"]]) {
    await goto(route);
    await page.waitForTimeout(800);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    if (w > 376) throw new Error(`${route} is ${w} px wide at a 375 px screen`);
    await shot(`phone-${name}`);
  }
  log("all pages fit a 375 px screen");
  const serious = consoleErrors.filter((e) => !/favicon|ResizeObserver/.test(e));
  if (serious.length) log(`console errors seen (not failing): ${serious.slice(0, 3).join(" | ")}`);
}
