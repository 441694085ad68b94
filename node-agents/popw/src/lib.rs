//! # Kaisar Proof of Physical Work (PoPW)
//!
//! The performance-evaluation task that checkers send to GPU workers, and its cheap
//! verification. The full protocol, its security analysis and the measurements are in
//! `docs/popw.md`; in short:
//!
//! 1. The checker commits `H(nonce)` on-chain, then sends a signed [`Challenge`]. The seed is
//!    `H(tag, genesis, epoch randomness, nonce, worker id, GPU UUID hash, model, m, n, k, T)`
//!    ([`seed`]).
//! 2. The worker computes `C_t = A_t * B` for `t in 0..T` in exact INT8 x INT8 -> INT32
//!    arithmetic, every entry of `A_t` and `B` coming from a counter-based PRF of the seed
//!    ([`prf`]), hashes every row into a two-level Merkle tree ([`merkle`]) and sends the root in a
//!    signed [`Commit`]. The checker notes the arrival time.
//! 3. Only then the checker draws ~128 rows and sends a signed [`Open`]; the worker answers with
//!    the rows and their Merkle paths ([`Openings`]).
//! 4. The checker verifies each row with a Freivalds check against `y = B*r mod (2^61-1)` for a
//!    secret random `r` ([`verify`]), without a GPU, and scores the throughput
//!    `2*m*n*k*T / (arrival - issue - RTT credit)` (the RTT measured by the checker's own
//!    pings, capped) against the claimed model's calibrated figure
//!    ([`calibration`]).
//!
//! Backends: [`backend::CpuBackend`] (reference, rayon) and, with feature `cuda`,
//! `backend::CudaBackend` (cuBLAS INT8 GEMM + NVRTC kernels), bit-identical.

pub mod backend;
pub mod calibration;
pub mod checker;
pub mod field;
pub mod keys;
pub mod merkle;
pub mod messages;
pub mod params;
pub mod prf;
pub mod seed;
pub mod snapshot;
pub mod verify;
pub mod worker;

pub use backend::{Backend, CpuBackend};
pub use calibration::CalibrationTable;
pub use checker::{
    AfterCommit, ChallengeRequest, Checker, CheckerConfig, CheckerError, CheckerSession, Failure,
    Verdict, MAX_PINGS, MAX_RTT_CREDIT_FRACTION,
};
pub use keys::{AccountKey, Signer};
pub use messages::{Challenge, Commit, Open, OpenedRow, Openings, Ping, Pong, RowIndex};
pub use params::{Params, Shape, STANDARD_SHAPE};
pub use seed::{ChallengeId, GpuUuidHash, Nonce, NonceCommitment, Seed};
pub use snapshot::GpuSnapshot;
pub use worker::{
    answer_ping, AcceptedChallenge, ChallengeExpectation, PendingOpening, Worker, WorkerError,
    WorkerIdentity,
};
