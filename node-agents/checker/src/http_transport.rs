//! The real transport: the PoPW exchange over HTTP with the worker's provider agent, through
//! the one definition of the wire protocol (`kaisar_popw_http`, whose server side is
//! the agent's responder). Every failure maps to a [`TransportError`], which the driver attests
//! `Unreachable` (never a skipped check).

use std::{collections::HashMap, sync::Mutex, time::Duration};

use kaisar_popw::ChallengeId;
use kaisar_popw_http::{Client, ClientError};

use crate::{Transport, TransportError};

/// Most worker endpoints whose HTTP clients are kept (endpoints come from the chain: bounded).
const MAX_CLIENTS: usize = 4096;

/// [`Transport`] over HTTP, one keep-alive client per worker endpoint.
pub struct HttpTransport {
    timeout: Duration,
    clients: Mutex<HashMap<String, Client>>,
}

impl HttpTransport {
    /// A transport whose requests time out after `timeout` (a commit is awaited until the
    /// challenge's own deadline instead).
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, endpoint: &str) -> Result<Client, TransportError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(endpoint) {
            return Ok(c.clone());
        }
        let c = Client::new(endpoint, self.timeout)
            .map_err(|e| TransportError::BadEndpoint(e.to_string()))?;
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(endpoint.to_string(), c.clone());
        Ok(c)
    }
}

fn map(e: ClientError) -> TransportError {
    match e {
        ClientError::Refused { status, reason } if status == 429 || status == 403 => {
            TransportError::NotYet(format!("{status}: {reason}"))
        }
        ClientError::Refused { status, reason } => {
            TransportError::Refused(format!("{status}: {reason}"))
        }
        ClientError::CommitTimeout => TransportError::CommitTimeout,
        ClientError::BadUrl(u) => TransportError::BadEndpoint(u),
        other => TransportError::Unreachable(other.to_string()),
    }
}

#[async_trait::async_trait]
impl Transport for HttpTransport {
    async fn send_challenge(
        &self,
        endpoint: &str,
        challenge: Vec<u8>,
    ) -> Result<(), TransportError> {
        self.client(endpoint)?
            .send_challenge(challenge)
            .await
            .map_err(map)
    }

    async fn ping(&self, endpoint: &str, ping: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.client(endpoint)?.ping(ping).await.map_err(map)
    }

    async fn wait_commit(
        &self,
        endpoint: &str,
        id: ChallengeId,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<u8>, TransportError> {
        self.client(endpoint)?
            .wait_commit(&id, deadline)
            .await
            .map_err(map)
    }

    async fn open(&self, endpoint: &str, open: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.client(endpoint)?.open(open).await.map_err(map)
    }
}
