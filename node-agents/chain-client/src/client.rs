//! The connection to a node and the typed operations on it.

use std::{
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use subxt::{
    backend::{BlockRef, LegacyBackend},
    client::{ClientAtBlock, OnlineClientAtBlockImpl},
    config::DefaultExtrinsicParamsBuilder,
    events::DecodeAsEvent,
    extrinsics::ExtrinsicEvents,
    rpcs::{rpc_params, RpcClient},
    transactions::{Payload, TransactionProgress, TransactionStatus},
    utils::{AccountId32, H256},
    OnlineClient,
};

use crate::{
    error::{ChainError, Result},
    kaisar,
    signer::{account_of, Signer},
    types::*,
    Balance, BlockNumber, KaisarConfig, OrderId, WorkerId,
};

/// A view of the chain at one block.
pub type AtBlock = ClientAtBlock<KaisarConfig, OnlineClientAtBlockImpl<KaisarConfig>>;

/// How [`Client::connect_with`] retries while the node is not up yet.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Give up after this long.
    pub timeout: Duration,
    /// First pause between attempts; doubled after each failure.
    pub initial_backoff: Duration,
    /// Longest pause between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Up to 60 s, pausing 250 ms, 500 ms, 1 s ... at most 4 s between attempts.
    fn default() -> Self {
        RetryPolicy {
            timeout: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

/// A submitted transaction that was included in a block and succeeded.
#[derive(Debug)]
pub struct TxOutcome {
    /// The block it was included in.
    pub block_hash: H256,
    /// That block's number.
    pub block_number: BlockNumber,
    /// Its events (those of the block's phase `ApplyExtrinsic(index)` of this transaction).
    pub events: ExtrinsicEvents<KaisarConfig>,
}

impl TxOutcome {
    /// Every event of type `E` the transaction emitted, decoded.
    pub fn find<E: DecodeAsEvent>(&self) -> Result<Vec<E>> {
        self.events
            .find::<E>()
            .collect::<std::result::Result<Vec<E>, _>>()
            .map_err(ChainError::subxt)
    }

    /// The first event of type `E`, if any.
    pub fn find_first<E: DecodeAsEvent>(&self) -> Result<Option<E>> {
        self.events
            .find_first::<E>()
            .transpose()
            .map_err(ChainError::subxt)
    }

    /// The first event of type `E`; an error naming the events that were emitted if none.
    pub fn expect_event<E: DecodeAsEvent>(&self) -> Result<E> {
        self.find_first::<E>()?.ok_or_else(|| {
            ChainError::subxt(subxt::Error::Other(
                format!(
                    "expected event {} not emitted; events: {}",
                    std::any::type_name::<E>(),
                    self.event_names().join(", ")
                )
                .into(),
            ))
        })
    }

    /// Whether an event of type `E` was emitted.
    pub fn has<E: DecodeAsEvent>(&self) -> bool {
        self.events.has::<E>()
    }

    /// `Pallet::Event` names of the emitted events, in order (for messages and debugging).
    pub fn event_names(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| match e {
                Ok(e) => format!("{}::{}", e.pallet_name(), e.event_name()),
                Err(err) => format!("<undecodable: {err}>"),
            })
            .collect()
    }
}

/// A transaction in the node's pool ([`Client::send`]): not known to be included yet.
pub struct PendingTx {
    progress: TransactionProgress<KaisarConfig, OnlineClientAtBlockImpl<KaisarConfig>>,
    client: Client,
    nonce: u64,
}

impl std::fmt::Debug for PendingTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingTx")
            .field("hash", &self.progress.extrinsic_hash())
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl PendingTx {
    /// The nonce it was signed with.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// Wait (at most the client's transaction timeout) until it is in a block and succeeded;
    /// its events. A pallet error comes back as [`ChainError::Module`]; a transaction the pool
    /// dropped or found invalid as [`ChainError::Rejected`].
    pub async fn wait(mut self) -> Result<TxOutcome> {
        let timeout = self.client.tx_timeout;
        let client = self.client.clone();
        let progress = &mut self.progress;
        let wait = async {
            while let Some(status) = progress.next().await {
                let status = status.map_err(ChainError::subxt)?;
                let in_block = match status {
                    TransactionStatus::InBestBlock(b) | TransactionStatus::InFinalizedBlock(b) => b,
                    TransactionStatus::Error { message }
                    | TransactionStatus::Invalid { message }
                    | TransactionStatus::Dropped { message } => {
                        return Err(ChainError::Rejected(message))
                    }
                    _ => continue,
                };
                let events = in_block
                    .wait_for_success()
                    .await
                    .map_err(ChainError::from_events_error)?;
                let block_hash = in_block.block_hash();
                let block_number = client.at(block_hash).await?.block_number() as BlockNumber;
                return Ok(TxOutcome {
                    block_hash,
                    block_number,
                    events,
                });
            }
            Err(ChainError::Rejected(
                "the node closed the transaction's status stream".into(),
            ))
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ChainError::Timeout(timeout, "the transaction to be included".into()))?
    }
}

/// Free, reserved (held) and frozen balance of an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountBalance {
    /// Spendable balance plus what is frozen.
    pub free: Balance,
    /// Held balance (all holds: deposits, escrows, ...).
    pub reserved: Balance,
    /// Part of `free` that cannot be spent.
    pub frozen: Balance,
    /// The account's transaction count.
    pub nonce: u32,
}

impl AccountBalance {
    /// `free + reserved`.
    pub fn total(&self) -> Balance {
        self.free.saturating_add(self.reserved)
    }
}

/// Which block-production engine the node runs, for [`Client::advance_blocks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Chopsticks: blocks on demand (`dev_newBlock`).
    Chopsticks,
    /// A real node (polkadot-omni-node): blocks on a timer.
    Node,
}

const ENGINE_UNKNOWN: u8 = 0;
const ENGINE_CHOPSTICKS: u8 = 1;
const ENGINE_NODE: u8 = 2;

/// A connection to a Kaisar node.
///
/// Reads go to the node's *best* block ([`Client::at_best`]), so they see the effect of a
/// transaction as soon as [`Client::submit`] returns, even where finality lags. Transactions are
/// signed with the next nonce the node's pool knows (`system_accountNextIndex`), so one account
/// can submit several in a row.
#[derive(Clone)]
pub struct Client {
    api: OnlineClient<KaisarConfig>,
    rpc: RpcClient,
    url: String,
    tx_timeout: Duration,
    engine: Arc<AtomicU8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connect to the node at `url` (`ws://` or `wss://`), retrying with [`RetryPolicy::default`]
    /// while it is not up yet.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, RetryPolicy::default()).await
    }

    /// Connect to the node at `url`, retrying with exponential backoff as `retry` says.
    pub async fn connect_with(url: &str, retry: RetryPolicy) -> Result<Self> {
        let started = Instant::now();
        let mut backoff = retry.initial_backoff;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match Self::try_connect(url).await {
                Ok(client) => return Ok(client),
                Err(e) => {
                    if started.elapsed() + backoff > retry.timeout {
                        return Err(ChainError::Connect {
                            url: url.to_string(),
                            attempts,
                            last_error: e.to_string(),
                        });
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(retry.max_backoff);
                }
            }
        }
    }

    async fn try_connect(url: &str) -> Result<Self> {
        let rpc = RpcClient::from_insecure_url(url)
            .await
            .map_err(ChainError::subxt)?;
        // The legacy JSON-RPC methods (`chain_*`, `state_*`, `author_*`) are served the same way
        // by Chopsticks and by polkadot-omni-node.
        let backend = LegacyBackend::<KaisarConfig>::builder().build(rpc.clone());
        let api = OnlineClient::<KaisarConfig>::from_backend(Arc::new(backend))
            .await
            .map_err(ChainError::subxt)?;
        Ok(Client {
            api,
            rpc,
            url: url.to_string(),
            tx_timeout: Duration::from_secs(120),
            engine: Arc::new(AtomicU8::new(ENGINE_UNKNOWN)),
        })
    }

    /// How long [`Client::submit`] waits for inclusion (default 120 s).
    pub fn with_tx_timeout(mut self, timeout: Duration) -> Self {
        self.tx_timeout = timeout;
        self
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The subxt client, for anything this API does not cover.
    pub fn api(&self) -> &OnlineClient<KaisarConfig> {
        &self.api
    }

    /// The raw JSON-RPC client.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// Make a raw JSON-RPC request.
    pub async fn rpc_request<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: subxt::rpcs::client::RpcParams,
    ) -> Result<R> {
        self.rpc
            .request(method, params)
            .await
            .map_err(|e| ChainError::Rpc {
                method: method.to_string(),
                error: e.to_string(),
            })
    }

    /// Hash of the node's best block.
    pub async fn best_hash(&self) -> Result<H256> {
        self.rpc_request("chain_getBlockHash", rpc_params![]).await
    }

    /// Number of the node's best block.
    pub async fn best_number(&self) -> Result<BlockNumber> {
        let header: serde_json::Value = self.rpc_request("chain_getHeader", rpc_params![]).await?;
        let number = header
            .get("number")
            .and_then(|n| n.as_str())
            .and_then(|n| u32::from_str_radix(n.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| ChainError::Rpc {
                method: "chain_getHeader".into(),
                error: format!("no block number in {header}"),
            })?;
        Ok(number)
    }

    /// The chain at its best block.
    pub async fn at_best(&self) -> Result<AtBlock> {
        let hash = self.best_hash().await?;
        self.at(hash).await
    }

    /// The chain at the block with this hash.
    pub async fn at(&self, hash: H256) -> Result<AtBlock> {
        self.api
            .at_block(BlockRef::from_hash(hash))
            .await
            .map_err(ChainError::subxt)
    }

    /// Sign `call` with `signer`, submit it, wait until it is in a block and succeeded, and
    /// return its events. A pallet error comes back as [`ChainError::Module`] with the pallet's
    /// and the error's names.
    pub async fn submit<C: Payload>(&self, call: &C, signer: &Signer) -> Result<TxOutcome> {
        let nonce = self.next_nonce(&account_of(signer)).await?;
        self.send(call, signer, nonce).await?.wait().await
    }

    /// Sign `call` with `signer` and this `nonce` and hand it to the node's pool, without
    /// waiting for it to be included: [`PendingTx::wait`] does. One account can have several
    /// transactions in flight this way, with consecutive nonces (the pool keeps one whose nonce
    /// is ahead until the ones before it are in); send them in nonce order. An error here means
    /// the pool refused it outright (a stale nonce, fees it cannot pay...).
    pub async fn send<C: Payload>(
        &self,
        call: &C,
        signer: &Signer,
        nonce: u64,
    ) -> Result<PendingTx> {
        let at = self.at_best().await?;
        let params = DefaultExtrinsicParamsBuilder::<KaisarConfig>::new()
            .nonce(nonce)
            .mortal(256)
            .build();
        let mut txs = at.transactions();
        let tx = txs
            .create_signed(call, signer, params)
            .await
            .map_err(ChainError::subxt)?;
        let progress = tx
            .submit_and_watch()
            .await
            .map_err(|e| ChainError::Rejected(e.to_string()))?;
        Ok(PendingTx {
            progress,
            client: self.clone(),
            nonce,
        })
    }

    /// The nonce the next transaction of `who` must carry (counting those in the node's pool).
    pub async fn next_nonce(&self, who: &AccountId32) -> Result<u64> {
        self.rpc_request("system_accountNextIndex", rpc_params![who.to_string()])
            .await
    }

    /// Which engine the node runs: Chopsticks answers `dev_newBlock`, a real node does not.
    pub async fn engine(&self) -> Result<Engine> {
        match self.engine.load(Ordering::Relaxed) {
            ENGINE_CHOPSTICKS => return Ok(Engine::Chopsticks),
            ENGINE_NODE => return Ok(Engine::Node),
            _ => {}
        }
        let methods: serde_json::Value = self.rpc_request("rpc_methods", rpc_params![]).await?;
        let chopsticks = methods
            .get("methods")
            .and_then(|m| m.as_array())
            .map(|m| m.iter().any(|v| v.as_str() == Some("dev_newBlock")))
            .unwrap_or(false);
        let (engine, code) = if chopsticks {
            (Engine::Chopsticks, ENGINE_CHOPSTICKS)
        } else {
            (Engine::Node, ENGINE_NODE)
        };
        self.engine.store(code, Ordering::Relaxed);
        Ok(engine)
    }

    /// Let at least `n` more blocks be built and return the new best block number. On
    /// Chopsticks this asks for them (`dev_newBlock`); on a real node it waits for them (up to
    /// `n` times 3 block times plus 30 s, assuming 6 s blocks).
    pub async fn advance_blocks(&self, n: u32) -> Result<BlockNumber> {
        let start = self.best_number().await?;
        if n == 0 {
            return Ok(start);
        }
        if self.engine().await? == Engine::Chopsticks {
            let _: serde_json::Value = self
                .rpc_request(
                    "dev_newBlock",
                    rpc_params![serde_json::json!({ "count": n })],
                )
                .await?;
        }
        self.wait_for_block(start + n, Duration::from_secs(30 + 18 * u64::from(n)))
            .await
    }

    /// Wait until the best block number is at least `target`; returns it.
    pub async fn wait_for_block(
        &self,
        target: BlockNumber,
        timeout: Duration,
    ) -> Result<BlockNumber> {
        let started = Instant::now();
        loop {
            let now = self.best_number().await?;
            if now >= target {
                return Ok(now);
            }
            if started.elapsed() > timeout {
                return Err(ChainError::Timeout(
                    timeout,
                    format!("block #{target} (at #{now})"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // ---- reads (at the best block) -------------------------------------------------------

    /// The value at a storage `address` with `keys` at the best block (`None` if absent and the
    /// entry has no default).
    pub async fn fetch<A: subxt::storage::Address>(
        &self,
        address: A,
        keys: A::KeyParts,
    ) -> Result<Option<A::Value>> {
        let at = self.at_best().await?;
        let value = at
            .storage()
            .try_fetch(address, keys)
            .await
            .map_err(ChainError::subxt)?;
        value
            .map(|v| v.decode().map_err(ChainError::subxt))
            .transpose()
    }

    /// The value at a storage `address` with `keys` at block `at` (so that several values are
    /// read from one state); `None` if absent and the entry has no default.
    pub async fn fetch_at<A: subxt::storage::Address>(
        at: &AtBlock,
        address: A,
        keys: A::KeyParts,
    ) -> Result<Option<A::Value>> {
        let value = at
            .storage()
            .try_fetch(address, keys)
            .await
            .map_err(ChainError::subxt)?;
        value
            .map(|v| v.decode().map_err(ChainError::subxt))
            .transpose()
    }

    /// Every entry of a storage map under `prefix` (`()` for all) at the best block, as
    /// (decoded key parts, decoded value), in the order the node returns them (by hashed key).
    pub async fn entries<A, P>(&self, address: A, prefix: P) -> Result<Vec<(A::KeyParts, A::Value)>>
    where
        A: subxt::storage::Address,
        P: subxt::storage::PrefixOf<A::KeyParts>,
    {
        let at = self.at_best().await?;
        Self::entries_at(&at, address, prefix).await
    }

    /// [`Client::entries`] at block `at` (so that several maps are read from one state).
    pub async fn entries_at<A, P>(
        at: &AtBlock,
        address: A,
        prefix: P,
    ) -> Result<Vec<(A::KeyParts, A::Value)>>
    where
        A: subxt::storage::Address,
        P: subxt::storage::PrefixOf<A::KeyParts>,
    {
        let mut entries = at
            .storage()
            .iter(address, prefix)
            .await
            .map_err(ChainError::subxt)?;
        let mut out = Vec::new();
        while let Some(entry) = entries.next().await {
            let entry = entry.map_err(ChainError::subxt)?;
            let key = entry
                .key()
                .map_err(ChainError::subxt)?
                .decode()
                .map_err(ChainError::subxt)?;
            let value = entry.value().decode().map_err(ChainError::subxt)?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// Call a runtime API at the best block.
    pub async fn call_api<P: subxt::runtime_apis::Payload>(
        &self,
        payload: P,
    ) -> Result<P::ReturnType> {
        let at = self.at_best().await?;
        at.runtime_apis()
            .call(payload)
            .await
            .map_err(ChainError::subxt)
    }

    /// A pallet error that a runtime API returned inside a `DispatchError::Module` (a quote's
    /// refusal, say), explained like a failed transaction's: [`ChainError::Module`] with the
    /// pallet's and the error's names and docs from the best block's metadata.
    pub async fn explain_module_error(&self, pallet_index: u8, error: [u8; 4]) -> ChainError {
        let at = match self.at_best().await {
            Ok(at) => at,
            Err(e) => return e,
        };
        let metadata = at.metadata();
        match metadata
            .pallet_by_error_index(pallet_index)
            .and_then(|pallet| {
                let variant = pallet.error_variant_by_index(error[0])?;
                Some(ChainError::Module {
                    pallet: pallet.name().to_string(),
                    error: variant.name.clone(),
                    docs: variant.docs.join(" ").trim().to_string(),
                })
            }) {
            Some(explained) => explained,
            None => ChainError::Dispatch(format!(
                "error {error:?} of pallet {pallet_index}, unknown to the metadata"
            )),
        }
    }

    /// The chain's genesis hash.
    pub fn genesis_hash(&self) -> H256 {
        self.api().genesis_hash()
    }

    /// A runtime constant.
    pub async fn constant<A: subxt::constants::Address>(&self, address: A) -> Result<A::Target> {
        let at = self.at_best().await?;
        at.constants().entry(address).map_err(ChainError::subxt)
    }

    /// A registered worker.
    pub async fn worker(&self, id: WorkerId) -> Result<Option<WorkerInfo>> {
        self.fetch(kaisar::storage().worker_registry().workers(), (id,))
            .await
    }

    /// The worker an agent key acts for.
    pub async fn worker_of_agent(&self, agent: &AccountId32) -> Result<Option<WorkerId>> {
        self.fetch(
            kaisar::storage().worker_registry().worker_by_agent(),
            (*agent,),
        )
        .await
    }

    /// The id the next registered worker gets.
    pub async fn next_worker_id(&self) -> Result<WorkerId> {
        Ok(self
            .fetch(kaisar::storage().worker_registry().next_worker_id(), ())
            .await?
            .unwrap_or_default())
    }

    /// The cheapest `Active` workers of a GPU model, as `(price per GPU hour, worker)`.
    pub async fn price_index(&self, model: GpuModel) -> Result<Vec<(Balance, WorkerId)>> {
        Ok(self
            .fetch(kaisar::storage().worker_registry().price_index(), (model,))
            .await?
            .map(|v| v.0)
            .unwrap_or_default())
    }

    /// An order (open or terminal, until dropped).
    pub async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        self.fetch(kaisar::storage().orders().orders(), (id,)).await
    }

    /// The orders of `who`, as their user or as their provider, in id order: the pallet's
    /// account index (`Orders::OrdersOf`) and then those orders, all read at one block.
    pub async fn orders_of(&self, who: &AccountId32) -> Result<Vec<(OrderId, Order)>> {
        let at = self.at_best().await?;
        let mut ids: Vec<OrderId> =
            Self::entries_at(&at, kaisar::storage().orders().orders_of(), (*who,))
                .await?
                .into_iter()
                .map(|((_, id), ())| id)
                .collect();
        ids.sort_unstable();
        let mut orders = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(order) =
                Self::fetch_at(&at, kaisar::storage().orders().orders(), (id,)).await?
            {
                orders.push((id, order));
            }
        }
        Ok(orders)
    }

    /// The id the next order gets.
    pub async fn next_order_id(&self) -> Result<OrderId> {
        Ok(self
            .fetch(kaisar::storage().orders().next_order_id(), ())
            .await?
            .unwrap_or_default())
    }

    /// The open (Pending or Running) orders of a worker.
    pub async fn open_orders_of_worker(&self, worker: WorkerId) -> Result<Vec<OrderId>> {
        Ok(self
            .fetch(kaisar::storage().orders().orders_by_worker(), (worker,))
            .await?
            .map(|v| v.0)
            .unwrap_or_default())
    }

    /// The encrypted access blob of a Running order.
    pub async fn access_blob(&self, order: OrderId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .fetch(kaisar::storage().orders().access_blobs(), (order,))
            .await?
            .map(|v| v.0))
    }

    /// An open escrow.
    pub async fn escrow(&self, id: u64) -> Result<Option<EscrowAccount>> {
        self.fetch(kaisar::storage().escrow().escrows(), (id,))
            .await
    }

    /// Free, reserved and frozen balance and nonce of an account (zeros if it does not exist).
    pub async fn account(&self, who: &AccountId32) -> Result<AccountBalance> {
        let info = self
            .fetch(kaisar::storage().system().account(), (*who,))
            .await?;
        Ok(info
            .map(|i| AccountBalance {
                free: i.data.free,
                reserved: i.data.reserved,
                frozen: i.data.frozen,
                nonce: i.nonce,
            })
            .unwrap_or_default())
    }

    /// The holds on an account's balance, by reason.
    pub async fn holds(&self, who: &AccountId32) -> Result<Vec<(RuntimeHoldReason, Balance)>> {
        Self::holds_at(&self.at_best().await?, who).await
    }

    /// The holds on an account's balance at block `at`, by reason (to compare with other reads
    /// of that block).
    pub async fn holds_at(
        at: &AtBlock,
        who: &AccountId32,
    ) -> Result<Vec<(RuntimeHoldReason, Balance)>> {
        Ok(
            Self::fetch_at(at, kaisar::storage().balances().holds(), (*who,))
                .await?
                .map(|v| v.0.into_iter().map(|h| (h.id, h.amount)).collect())
                .unwrap_or_default(),
        )
    }

    /// What is held on an account for one reason.
    pub async fn held(&self, who: &AccountId32, reason: &RuntimeHoldReason) -> Result<Balance> {
        Ok(self
            .holds(who)
            .await?
            .into_iter()
            .filter(|(r, _)| r == reason)
            .map(|(_, a)| a)
            .sum())
    }

    /// Points held by an account.
    pub async fn points_of(&self, who: &AccountId32) -> Result<Balance> {
        Ok(self
            .fetch(kaisar::storage().points().points_of(), (*who,))
            .await?
            .unwrap_or_default())
    }

    /// Sum of everyone's points.
    pub async fn total_points(&self) -> Result<Balance> {
        Ok(self
            .fetch(kaisar::storage().points().total_points(), ())
            .await?
            .unwrap_or_default())
    }

    /// How service-failure refunds are paid to an account (points unless it chose tokens).
    pub async fn refund_preference(&self, who: &AccountId32) -> Result<RefundPreference> {
        Ok(self
            .fetch(kaisar::storage().points().refund_preferences(), (*who,))
            .await?
            .unwrap_or(RefundPreference::Points))
    }

    /// The promotion pot's account (`modl` + `PotId`, zero-padded, as `into_account_truncating`).
    pub async fn pot_account(&self) -> Result<AccountId32> {
        let id = self.constant(kaisar::constants().points().pot_id()).await?;
        let mut raw = [0u8; 32];
        raw[..4].copy_from_slice(b"modl");
        raw[4..12].copy_from_slice(&id.0);
        Ok(AccountId32(raw))
    }

    /// Points credited per token refunded as points, as a `FixedU128` inner value (10^18 = 1).
    pub async fn points_per_token(&self) -> Result<u128> {
        Ok(self
            .constant(kaisar::constants().points().points_per_token())
            .await?
            .0)
    }

    /// Total issuance of the native token.
    pub async fn total_issuance(&self) -> Result<Balance> {
        Ok(self
            .fetch(kaisar::storage().balances().total_issuance(), ())
            .await?
            .unwrap_or_default())
    }
}
