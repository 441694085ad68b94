//! The PoPW exchange over HTTP: the one definition of the wire protocol, shared by the worker's
//! responder (server: `kaisar_provider::responder`, whose router serves these routes) and the
//! checker daemon ([`Client`]). A crate of its own so that the checker does not depend on the
//! provider agent.
//!
//! Every body is the signed message bytes `kaisar-popw` produces and consumes
//! ([`kaisar_popw::messages`]: `SCALE(payload) ++ signer ++ signature`), content type
//! `application/octet-stream`. Every refusal is a 4xx (5xx: the worker's own failure) with a short
//! `text/plain` reason.
//!
//! | route | request | success |
//! |---|---|---|
//! | `POST /popw/v1/challenge` | signed `Challenge` | `202`, body: the challenge id in hex; the work starts |
//! | `POST /popw/v1/ping` | signed `Ping` | `200`, signed `Pong` |
//! | `GET /popw/v1/commit/<id hex>` | - | `200` signed `Commit`; `204` not ready yet (after a long poll of at most [`MAX_LONG_POLL`]: ask again) |
//! | `POST /popw/v1/open` | signed `Open` | `200`, signed `Openings` |
//!
//! Errors: `400` malformed (not a message, bad hex id, an open request naming bad rows), `403`
//! not for this worker or not by the chain's checker (signer, signature, nonce commitment,
//! genesis, epoch randomness, worker id, agent key, GPU, model), `404` unknown or expired
//! challenge, `409` a challenge already received, a ping after the exchange, an open before the
//! commit or a second open, `413` body over the message's exact size limit, `422` a shape, work
//! size, version or parameters this worker does not accept, `429` every GPU (or the concurrency
//! cap) is busy with another challenge, `500` the work failed on the worker.

use kaisar_popw::messages::{self, MAX_MESSAGE_BYTES, MAX_OPENINGS};
use kaisar_popw::ChallengeId;
use std::time::Duration;

/// `POST`: a signed challenge.
pub const CHALLENGE: &str = "/popw/v1/challenge";
/// `POST`: a signed ping.
pub const PING: &str = "/popw/v1/ping";
/// `GET`: the commit of the challenge whose id (64 hex digits, optionally `0x`-prefixed) ends
/// the path; the route pattern as axum writes it.
pub const COMMIT: &str = "/popw/v1/commit/{id}";
/// `POST`: a signed open request.
pub const OPEN: &str = "/popw/v1/open";
/// The content type of every message body.
pub const CONTENT_TYPE: &str = "application/octet-stream";
/// The longest a `GET` of a commit waits on the worker before answering `204`.
pub const MAX_LONG_POLL: Duration = Duration::from_secs(10);

/// The path of the commit of challenge `id`.
pub fn commit_path(id: &ChallengeId) -> String {
    format!("/popw/v1/commit/{}", hex::encode(id.0))
}

/// Parse a challenge id as [`commit_path`] writes it (a `0x` prefix is allowed).
pub fn parse_challenge_id(s: &str) -> Option<ChallengeId> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut id = [0u8; 32];
    hex::decode_to_slice(s, &mut id).ok()?;
    Some(ChallengeId(id))
}

/// The largest request body each route accepts (exact for the message it carries).
pub fn max_request_len(route: &str) -> usize {
    match route {
        CHALLENGE => messages::max_challenge_len(),
        PING => messages::max_ping_len(),
        OPEN => messages::max_open_len(MAX_OPENINGS),
        _ => 0,
    }
}

/// Why a request to a worker failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The worker could not be reached, or the connection failed or timed out.
    #[error("worker unreachable: {0}")]
    Unreachable(String),
    /// The worker refused the request.
    #[error("worker refused with {status}: {reason}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The worker's reason.
        reason: String,
    },
    /// The worker's answer is larger than any message can be.
    #[error("answer larger than {MAX_MESSAGE_BYTES} bytes")]
    AnswerTooLarge,
    /// No commit before the deadline.
    #[error("no commit before the deadline")]
    CommitTimeout,
    /// The base URL is not usable.
    #[error("bad worker URL {0}")]
    BadUrl(String),
}

/// The checker's side of the HTTP protocol: sends the signed messages and returns the worker's
/// signed answers unverified (the checker's `CheckerSession` verifies them).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

impl Client {
    /// A client for the worker at `base_url` (e.g. `http://10.0.0.5:9944`); `timeout` bounds each
    /// request (a commit's long poll gets [`MAX_LONG_POLL`] more).
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ClientError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUrl(base));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        Ok(Self {
            http,
            base,
            timeout,
        })
    }

    async fn post(&self, route: &str, body: Vec<u8>) -> Result<reqwest::Response, ClientError> {
        self.http
            .post(format!("{}{route}", self.base))
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .timeout(self.timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))
    }

    /// Send a signed challenge; `Ok` once the worker accepted it (`202`) and started the work.
    pub async fn send_challenge(&self, challenge: Vec<u8>) -> Result<(), ClientError> {
        let resp = self.post(CHALLENGE, challenge).await?;
        expect(resp, 202).await.map(drop)
    }

    /// Send a signed ping; returns the signed pong.
    pub async fn ping(&self, ping: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        let resp = self.post(PING, ping).await?;
        expect(resp, 200).await
    }

    /// One long poll for the commit: `Some(commit)` or `None` if the worker is still working.
    pub async fn poll_commit(&self, id: &ChallengeId) -> Result<Option<Vec<u8>>, ClientError> {
        let resp = self
            .http
            .get(format!("{}{}", self.base, commit_path(id)))
            .timeout(self.timeout + MAX_LONG_POLL)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        if resp.status().as_u16() == 204 {
            return Ok(None);
        }
        expect(resp, 200).await.map(Some)
    }

    /// Poll for the commit until it arrives or `deadline` passes ([`ClientError::CommitTimeout`]).
    pub async fn wait_commit(
        &self,
        id: &ChallengeId,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<u8>, ClientError> {
        loop {
            match tokio::time::timeout_at(deadline, self.poll_commit(id)).await {
                Err(_) => return Err(ClientError::CommitTimeout),
                Ok(Ok(Some(commit))) => return Ok(commit),
                Ok(Ok(None)) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(ClientError::CommitTimeout);
                    }
                }
                Ok(Err(e)) => return Err(e),
            }
        }
    }

    /// Send a signed open request; returns the signed openings.
    pub async fn open(&self, open: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        let resp = self.post(OPEN, open).await?;
        expect(resp, 200).await
    }
}

/// Read the body of a response with status `want` (at most [`MAX_MESSAGE_BYTES`]), or turn any
/// other status into [`ClientError::Refused`] with the worker's (truncated) reason.
async fn expect(mut resp: reqwest::Response, want: u16) -> Result<Vec<u8>, ClientError> {
    let status = resp.status().as_u16();
    if resp
        .content_length()
        .is_some_and(|l| l > MAX_MESSAGE_BYTES as u64)
    {
        return Err(ClientError::AnswerTooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ClientError::Unreachable(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_MESSAGE_BYTES {
            return Err(ClientError::AnswerTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    if status == want {
        return Ok(body);
    }
    let mut reason = String::from_utf8_lossy(&body).into_owned();
    reason.truncate(200);
    Err(ClientError::Refused { status, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_ids_round_trip_through_the_commit_path() {
        let id = ChallengeId([0xab; 32]);
        let path = commit_path(&id);
        let hex_part = path.rsplit('/').next().unwrap();
        assert_eq!(parse_challenge_id(hex_part), Some(id));
        assert_eq!(parse_challenge_id(&format!("0x{hex_part}")), Some(id));
        assert_eq!(parse_challenge_id("abcd"), None);
        assert_eq!(parse_challenge_id(&"zz".repeat(32)), None);
    }
}
