//! The CUDA backend: cuBLAS INT8 GEMM (`cublasGemmEx`, `CUDA_R_8I` inputs, `CUDA_R_32I`
//! output, `CUBLAS_COMPUTE_32I`) and NVRTC kernels (`popw_kernels.cu`) for the PRF, the row
//! hashes and the chunk trees. Everything is loaded at run time (cudarc `dynamic-loading`), so
//! the crate builds on machines without CUDA; [`CudaBackend::new`] fails there.
//!
//! Layout (see `docs/popw.md`, "cuBLAS constraints"): `A_t` is `m x k` row-major and `B` is
//! stored transposed (`B^T`, `n x k` row-major), so both operands are K-contiguous. In cuBLAS's
//! column-major terms the call is the "TN" GEMM `C' = op(A') * op(B')` with `A'` = the `B^T`
//! buffer seen as `k x n` (`lda = k`, op T), `B'` = the `A_t` buffer seen as `k x m` (`ldb = k`,
//! op N) and `C'` = `n x m` (`ldc = n`), which is `C_t` row-major. IMMA kernels need 4-byte
//! aligned pointers (cuMemAlloc gives 256), leading dimensions that are multiples of 4 and
//! `m', k'` multiples of 4: here `m' = n` (a power of two >= 16) and `k' = k` (a multiple of 16).
#![allow(unsafe_code)]

use super::{check_indices, Backend, BackendError, ChunkHashes};
use crate::merkle::Hash;
use crate::messages::RowIndex;
use crate::params::Params;
use crate::prf::MatrixPrf;
use crate::seed::Seed;
use cudarc::cublas::{result as blas_result, sys as blas_sys, CudaBlas};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, DevicePtrMut, LaunchConfig,
    PushKernelArg,
};
use std::ffi::c_void;
use std::sync::Arc;

/// The kernels' source.
pub const KERNELS_CU: &str = include_str!("popw_kernels.cu");

/// Chunks' leaves kept on the device before one copy to the host (bounded to 64 MiB).
const LEAF_BATCH_BYTES: usize = 64 << 20;
const THREADS: u32 = 256;

fn dev<E: core::fmt::Debug>(e: E) -> BackendError {
    BackendError::Device(format!("{e:?}"))
}

fn grid(n: u64) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (n.div_ceil(THREADS as u64) as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

fn words_to_hash(w: &[u32]) -> Hash {
    let mut h = [0u8; 32];
    for (i, x) in w.iter().take(8).enumerate() {
        h[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    h
}

struct Kernels {
    gen_a: CudaFunction,
    gen_rows: CudaFunction,
    gen_bt: CudaFunction,
    leaf_single: CudaFunction,
    leaf_chunks: CudaFunction,
    leaf_merge: CudaFunction,
    merkle_level: CudaFunction,
}

/// The GPU backend (one device).
pub struct CudaBackend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    k: Kernels,
    /// `B^T` of the last seed: `(seed, k, n, data)`.
    bt: Option<(Seed, u32, u32, CudaSlice<i8>)>,
}

impl CudaBackend {
    /// Whether the CUDA driver, cuBLAS and NVRTC libraries can be loaded on this machine.
    pub fn libraries_present() -> bool {
        // SAFETY: these only try to dlopen the candidate library names.
        unsafe {
            cudarc::driver::sys::is_culib_present()
                && cudarc::cublas::sys::is_culib_present()
                && cudarc::nvrtc::sys::is_culib_present()
        }
    }

    /// Open device `ordinal`, compile the kernels with NVRTC and create a cuBLAS handle.
    ///
    /// Fails with [`BackendError::Device`] (instead of cudarc's panic) when the CUDA libraries
    /// are not installed.
    pub fn new(ordinal: usize) -> Result<Self, BackendError> {
        if !Self::libraries_present() {
            return Err(BackendError::Device(
                "CUDA driver, cuBLAS or NVRTC library not found (libcuda, libcublas, libnvrtc)"
                    .into(),
            ));
        }
        let ctx = CudaContext::new(ordinal).map_err(dev)?;
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone()).map_err(dev)?;
        let ptx = cudarc::nvrtc::compile_ptx(KERNELS_CU).map_err(dev)?;
        let module = ctx.load_module(ptx).map_err(dev)?;
        let f = |name: &str| module.load_function(name).map_err(dev);
        let k = Kernels {
            gen_a: f("popw_gen_a")?,
            gen_rows: f("popw_gen_rows")?,
            gen_bt: f("popw_gen_bt")?,
            leaf_single: f("popw_leaf_single")?,
            leaf_chunks: f("popw_leaf_chunks")?,
            leaf_merge: f("popw_leaf_merge")?,
            merkle_level: f("popw_merkle_level")?,
        };
        Ok(Self {
            ctx,
            stream,
            blas,
            k,
            bt: None,
        })
    }

    /// The device's name (e.g. "NVIDIA H100 80GB HBM3").
    pub fn device_name(&self) -> String {
        self.ctx
            .name()
            .unwrap_or_else(|e| format!("unknown ({e:?})"))
    }

    /// Wait for all queued work.
    pub fn synchronize(&self) -> Result<(), BackendError> {
        self.stream.synchronize().map_err(dev)
    }

    fn ensure_bt(&mut self, seed: &Seed, params: &Params) -> Result<(), BackendError> {
        if matches!(&self.bt, Some((s, k, n, _)) if s == seed && *k == params.k && *n == params.n) {
            return Ok(());
        }
        let (k0, k1, dom) = MatrixPrf::new(seed).words();
        let (k, n) = (params.k, params.n);
        let mut bt = self
            .stream
            .alloc_zeros::<i8>(k as usize * n as usize)
            .map_err(dev)?;
        let mut b = self.stream.launch_builder(&self.k.gen_bt);
        b.arg(&mut bt).arg(&k0).arg(&k1).arg(&dom).arg(&k).arg(&n);
        // SAFETY: `bt` holds k*n bytes; the kernel writes index (jb*16+q)*k + l < n*k for
        // l < k, jb < n/16, and the grid covers exactly k*n/16 threads (extra ones return).
        unsafe { b.launch(grid(k as u64 * (n / 16) as u64)) }.map_err(dev)?;
        self.bt = Some((*seed, k, n, bt));
        Ok(())
    }

    /// `c (rows x n, row-major i32) = a (rows x k, row-major i8) * B`.
    fn gemm(
        &self,
        a: &CudaSlice<i8>,
        rows: u32,
        params: &Params,
        c: &mut CudaSlice<i32>,
    ) -> Result<(), BackendError> {
        let Some((_, _, _, bt)) = &self.bt else {
            return Err(BackendError::Device("B not generated".into()));
        };
        let (k, n) = (params.k as i32, params.n as i32);
        let alpha: i32 = 1;
        let beta: i32 = 0;
        let (bt_ptr, _g1) = bt.device_ptr(&self.stream);
        let (a_ptr, _g2) = a.device_ptr(&self.stream);
        let (c_ptr, _g3) = c.device_ptr_mut(&self.stream);
        // SAFETY: column-major view: A' = B^T buffer as k x n (lda = k), op T -> n x k;
        // B' = A buffer as k x rows (ldb = k), op N; C' = n x rows (ldc = n). The buffers hold
        // n*k, rows*k and rows*n elements (checked by the callers' allocations). alpha/beta are
        // i32 host scalars as CUBLAS_COMPUTE_32I requires.
        unsafe {
            blas_result::gemm_ex(
                *self.blas.handle(),
                blas_sys::cublasOperation_t::CUBLAS_OP_T,
                blas_sys::cublasOperation_t::CUBLAS_OP_N,
                n,
                rows as i32,
                k,
                (&alpha) as *const i32 as *const c_void,
                bt_ptr as *const c_void,
                blas_sys::cudaDataType_t::CUDA_R_8I,
                k,
                a_ptr as *const c_void,
                blas_sys::cudaDataType_t::CUDA_R_8I,
                k,
                (&beta) as *const i32 as *const c_void,
                c_ptr as *mut c_void,
                blas_sys::cudaDataType_t::CUDA_R_32I,
                n,
                blas_sys::cublasComputeType_t::CUBLAS_COMPUTE_32I,
                blas_sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
            )
        }
        .map_err(dev)
    }

    fn gen_a(
        &self,
        seed: &Seed,
        params: &Params,
        t: u32,
        a: &mut CudaSlice<i8>,
    ) -> Result<(), BackendError> {
        let (k0, k1, dom) = MatrixPrf::new(seed).words();
        let (m, k) = (params.m, params.k);
        let mut b = self.stream.launch_builder(&self.k.gen_a);
        b.arg(a).arg(&k0).arg(&k1).arg(&dom).arg(&t).arg(&m).arg(&k);
        // SAFETY: `a` holds m*k bytes, 16-byte aligned rows (k % 16 == 0); m*k/16 threads.
        unsafe { b.launch(grid(m as u64 * (k / 16) as u64)) }.map_err(dev)?;
        Ok(())
    }

    /// Leaf hashes of chunk `t` (in `c`) into `leaves` (m x 8 words).
    fn hash_rows(
        &self,
        c: &CudaSlice<i32>,
        params: &Params,
        t: u32,
        cvs: &mut CudaSlice<u32>,
        leaves: &mut cudarc::driver::CudaViewMut<'_, u32>,
    ) -> Result<(), BackendError> {
        let (m, n) = (params.m, params.n);
        if n <= 256 {
            let mut b = self.stream.launch_builder(&self.k.leaf_single);
            b.arg(c).arg(leaves).arg(&t).arg(&m).arg(&n);
            // SAFETY: c holds m*n i32, leaves m*8 u32; one thread per row.
            unsafe { b.launch(grid(m as u64)) }.map_err(dev)?;
        } else {
            let mut b = self.stream.launch_builder(&self.k.leaf_chunks);
            b.arg(c).arg(&mut *cvs).arg(&t).arg(&m).arg(&n);
            // SAFETY: cvs holds m*(n/256)*8 u32; one thread per (row, chunk).
            unsafe { b.launch(grid(m as u64 * (n / 256) as u64)) }.map_err(dev)?;
            let mut b = self.stream.launch_builder(&self.k.leaf_merge);
            b.arg(&mut *cvs).arg(leaves).arg(&t).arg(&m).arg(&n);
            // SAFETY: as above; each thread touches only its own row of cvs and of leaves.
            unsafe { b.launch(grid(m as u64)) }.map_err(dev)?;
        }
        Ok(())
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn commit(&mut self, seed: &Seed, params: &Params) -> Result<ChunkHashes, BackendError> {
        params.validate()?;
        self.ensure_bt(seed, params)?;
        let (m, n, k) = (params.m as usize, params.n as usize, params.k as usize);
        let s = self.stream.clone();
        let mut a = s.alloc_zeros::<i8>(m * k).map_err(dev)?;
        let mut c = s.alloc_zeros::<i32>(m * n).map_err(dev)?;
        let mut cvs = s
            .alloc_zeros::<u32>(if n > 256 { m * (n / 256) * 8 } else { 8 })
            .map_err(dev)?;
        let batch = (LEAF_BATCH_BYTES / (m * 32)).clamp(1, params.chunks as usize);
        let mut leaf_dev = s.alloc_zeros::<u32>(batch * m * 8).map_err(dev)?;
        let mut level_a = s.alloc_zeros::<u32>((m / 2).max(1) * 8).map_err(dev)?;
        let mut level_b = s.alloc_zeros::<u32>((m / 4).max(1) * 8).map_err(dev)?;
        let mut roots_dev = s
            .alloc_zeros::<u32>(params.chunks as usize * 8)
            .map_err(dev)?;
        let mut leaves_host = vec![0u32; params.rows() as usize * 8];

        for t in 0..params.chunks {
            let slot = t as usize % batch;
            self.gen_a(seed, params, t, &mut a)?;
            self.gemm(&a, params.m, params, &mut c)?;
            {
                let mut view = leaf_dev.slice_mut(slot * m * 8..(slot + 1) * m * 8);
                self.hash_rows(&c, params, t, &mut cvs, &mut view)?;
            }
            // Chunk tree: m is a power of two. Level 1 reads the leaves, then alternate buffers.
            let root_slot = t as usize * 8;
            if m == 1 {
                let src = leaf_dev.slice(slot * 8..slot * 8 + 8);
                let mut dst = roots_dev.slice_mut(root_slot..root_slot + 8);
                s.memcpy_dtod(&src, &mut dst).map_err(dev)?;
            } else {
                let mut count = (m / 2) as u32;
                {
                    let src = leaf_dev.slice(slot * m * 8..(slot + 1) * m * 8);
                    let mut b = s.launch_builder(&self.k.merkle_level);
                    b.arg(&src).arg(&mut level_a).arg(&count);
                    // SAFETY: src holds 2*count nodes, level_a holds >= count nodes.
                    unsafe { b.launch(grid(count as u64)) }.map_err(dev)?;
                }
                let mut in_a = true;
                while count > 1 {
                    let next = count / 2;
                    let (src, dst) = if in_a {
                        (&level_a, &mut level_b)
                    } else {
                        (&level_b, &mut level_a)
                    };
                    let mut b = s.launch_builder(&self.k.merkle_level);
                    b.arg(src).arg(dst).arg(&next);
                    // SAFETY: src holds 2*next nodes, dst holds >= next nodes (m/4 >= next).
                    unsafe { b.launch(grid(next as u64)) }.map_err(dev)?;
                    in_a = !in_a;
                    count = next;
                }
                let src = if in_a {
                    level_a.slice(0..8)
                } else {
                    level_b.slice(0..8)
                };
                let mut dst = roots_dev.slice_mut(root_slot..root_slot + 8);
                s.memcpy_dtod(&src, &mut dst).map_err(dev)?;
            }
            // Copy a full batch of leaves (or the last partial one) to the host.
            let last = t + 1 == params.chunks;
            if slot + 1 == batch || last {
                let first_t = t as usize - slot;
                let words = (slot + 1) * m * 8;
                let src = leaf_dev.slice(0..words);
                s.memcpy_dtoh(
                    &src,
                    &mut leaves_host[first_t * m * 8..first_t * m * 8 + words],
                )
                .map_err(dev)?;
            }
        }
        let roots = s.clone_dtoh(&roots_dev).map_err(dev)?;
        Ok(ChunkHashes {
            leaves: leaves_host.chunks(8).map(words_to_hash).collect(),
            chunk_roots: roots.chunks(8).map(words_to_hash).collect(),
        })
    }

    fn rows(
        &mut self,
        seed: &Seed,
        params: &Params,
        indices: &[RowIndex],
    ) -> Result<Vec<Vec<i32>>, BackendError> {
        check_indices(params, indices)?;
        if indices.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_bt(seed, params)?;
        let (k0, k1, dom) = MatrixPrf::new(seed).words();
        let count = indices.len() as u32;
        let (k, n) = (params.k, params.n);
        let s = self.stream.clone();
        let ts = s
            .clone_htod(&indices.iter().map(|x| x.t).collect::<Vec<u32>>())
            .map_err(dev)?;
        let is = s
            .clone_htod(&indices.iter().map(|x| x.i).collect::<Vec<u32>>())
            .map_err(dev)?;
        let mut a = s
            .alloc_zeros::<i8>(count as usize * k as usize)
            .map_err(dev)?;
        let mut b = s.launch_builder(&self.k.gen_rows);
        b.arg(&mut a)
            .arg(&k0)
            .arg(&k1)
            .arg(&dom)
            .arg(&ts)
            .arg(&is)
            .arg(&count)
            .arg(&k);
        // SAFETY: a holds count*k bytes; ts/is hold count entries; count*k/16 threads.
        unsafe { b.launch(grid(count as u64 * (k / 16) as u64)) }.map_err(dev)?;
        let mut c = s
            .alloc_zeros::<i32>(count as usize * n as usize)
            .map_err(dev)?;
        self.gemm(&a, count, params, &mut c)?;
        let host = s.clone_dtoh(&c).map_err(dev)?;
        Ok(host.chunks(n as usize).map(|r| r.to_vec()).collect())
    }

    fn chunk(&mut self, seed: &Seed, params: &Params, t: u32) -> Result<Vec<i32>, BackendError> {
        check_indices(params, &[RowIndex { t, i: 0 }])?;
        self.ensure_bt(seed, params)?;
        let s = self.stream.clone();
        let mut a = s
            .alloc_zeros::<i8>(params.m as usize * params.k as usize)
            .map_err(dev)?;
        let mut c = s
            .alloc_zeros::<i32>(params.m as usize * params.n as usize)
            .map_err(dev)?;
        self.gen_a(seed, params, t, &mut a)?;
        self.gemm(&a, params.m, params, &mut c)?;
        s.clone_dtoh(&c).map_err(dev)
    }
}
