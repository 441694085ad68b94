//! Backends that do the work: compute every `C_t = A_t * B`, hash its rows, build the chunk
//! trees, and later recompute the opened rows.
//!
//! * [`CpuBackend`]: the reference (rayon, cache-blocked, safe Rust). Used by tests, by CPU-only
//!   workers in development, and to cross-check the GPU backend.
//! * `CudaBackend` (feature `cuda`): cuBLAS INT8 GEMM and NVRTC kernels for the PRF, row hashing
//!   and chunk trees. Must produce bit-identical rows and hashes.

use crate::merkle::Hash;
use crate::messages::RowIndex;
use crate::params::{Params, ParamsError};
use crate::seed::Seed;

mod cpu;
pub use cpu::CpuBackend;

#[cfg(feature = "cuda")]
mod cuda;
#[cfg(feature = "cuda")]
pub use cuda::CudaBackend;

/// What a backend hands back after computing every chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkHashes {
    /// Every row's leaf hash, chunk-major (`chunks * m`).
    pub leaves: Vec<Hash>,
    /// The root of each chunk tree (`chunks`).
    pub chunk_roots: Vec<Hash>,
}

/// A backend failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The parameters are invalid.
    #[error("invalid parameters: {0}")]
    Params(#[from] ParamsError),
    /// A requested row does not exist.
    #[error("row {0:?} is out of range")]
    RowOutOfRange(RowIndex),
    /// The device (driver, cuBLAS, NVRTC) reported an error.
    #[error("device error: {0}")]
    Device(String),
}

/// A way of doing the work.
pub trait Backend {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Compute every chunk of the challenge with this seed and return the row hashes and chunk
    /// roots ([`crate::merkle`] layout).
    fn commit(&mut self, seed: &Seed, params: &Params) -> Result<ChunkHashes, BackendError>;

    /// Recompute the given rows of the products (each `n` entries), in the order given.
    fn rows(
        &mut self,
        seed: &Seed,
        params: &Params,
        indices: &[RowIndex],
    ) -> Result<Vec<Vec<i32>>, BackendError>;

    /// The whole product `C_t` (`m x n`, row-major), to compare backends bit for bit.
    fn chunk(&mut self, seed: &Seed, params: &Params, t: u32) -> Result<Vec<i32>, BackendError>;
}

pub(crate) fn check_indices(params: &Params, indices: &[RowIndex]) -> Result<(), BackendError> {
    params.validate()?;
    match indices
        .iter()
        .find(|ix| ix.t >= params.chunks || ix.i >= params.m)
    {
        Some(bad) => Err(BackendError::RowOutOfRange(*bad)),
        None => Ok(()),
    }
}
