// Waits until a node serves blocks over WebSocket.
//
//   node scripts/lib/wait-blocks.mjs <ws-url> [--new-block] [--timeout SECONDS]
//
// Connects (retrying while the node starts), reads the best block number with
// `chain_getHeader`, and waits until it increases. With `--new-block` it first asks the node to
// build one (`dev_newBlock`, for Chopsticks, which only builds blocks on demand). Prints the new
// block number and exits 0; exits 1 on timeout.
import WebSocket from 'ws';

const args = process.argv.slice(2);
const url = args[0];
const newBlock = args.includes('--new-block');
const timeoutIdx = args.indexOf('--timeout');
const timeoutMs = (timeoutIdx >= 0 ? Number(args[timeoutIdx + 1]) : 120) * 1000;
if (!url || !Number.isFinite(timeoutMs)) {
  console.error('usage: wait-blocks.mjs <ws-url> [--new-block] [--timeout SECONDS]');
  process.exit(2);
}
const deadline = Date.now() + timeoutMs;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function rpc(ws, method, params = []) {
  return new Promise((resolve, reject) => {
    const id = Math.floor(Math.random() * 1e9);
    const onMessage = (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== id) return;
      ws.off('message', onMessage);
      if (msg.error) reject(new Error(`${method}: ${JSON.stringify(msg.error)}`));
      else resolve(msg.result);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

async function main() {
  let ws;
  while (!ws) {
    try {
      ws = await connect();
    } catch {
      if (Date.now() > deadline) throw new Error(`no WebSocket server at ${url}`);
      await sleep(500);
    }
  }
  const start = parseInt((await rpc(ws, 'chain_getHeader')).number, 16);
  if (newBlock) await rpc(ws, 'dev_newBlock', [{ count: 1 }]);
  for (;;) {
    const n = parseInt((await rpc(ws, 'chain_getHeader')).number, 16);
    if (n > start) {
      console.log(n);
      ws.close();
      return;
    }
    if (Date.now() > deadline) throw new Error(`best block stayed at #${n}`);
    await sleep(500);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`wait-blocks: ${e.message}`);
    process.exit(1);
  },
);
