//! The CUDA backend against the CPU reference. Needs an NVIDIA GPU with the CUDA driver,
//! cuBLAS and NVRTC libraries, so these tests are ignored by default:
//!
//! ```text
//! cargo test -p kaisar-popw --features cuda --test cuda_backend -- --ignored
//! ```
#![cfg(feature = "cuda")]

use kaisar_popw::backend::{Backend, BackendError, CpuBackend, CudaBackend};
use kaisar_popw::{Params, RowIndex, Seed};

#[test]
fn opening_a_device_returns_an_error_instead_of_panicking() {
    // Without the CUDA libraries (as on CI), cudarc would panic on first use; the backend checks
    // first. With a GPU, this opens it.
    let opened = std::panic::catch_unwind(|| CudaBackend::new(0).map(|_| ()))
        .expect("CudaBackend::new must not panic");
    if !CudaBackend::libraries_present() {
        assert!(matches!(opened, Err(BackendError::Device(_))));
    }
}

fn gpu() -> CudaBackend {
    CudaBackend::new(0).expect("an NVIDIA GPU with CUDA, cuBLAS and NVRTC")
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn gpu_products_rows_and_hashes_are_bit_identical_to_the_cpu() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let seed = Seed([0x77; 32]);
    for p in [
        Params {
            m: 64,
            n: 16,
            k: 32,
            chunks: 3,
        },
        Params {
            m: 32,
            n: 256,
            k: 256,
            chunks: 5,
        },
        Params {
            m: 128,
            n: 1024,
            k: 512,
            chunks: 2,
        },
        Params {
            m: 1,
            n: 512,
            k: 64,
            chunks: 3,
        },
    ] {
        for t in 0..p.chunks {
            assert_eq!(
                g.chunk(&seed, &p, t).unwrap(),
                c.chunk(&seed, &p, t).unwrap(),
                "{p:?} chunk {t}"
            );
        }
        assert_eq!(
            g.commit(&seed, &p).unwrap(),
            c.commit(&seed, &p).unwrap(),
            "{p:?} commit"
        );
        let idx = [
            RowIndex {
                t: p.chunks - 1,
                i: p.m - 1,
            },
            RowIndex { t: 0, i: 0 },
        ];
        assert_eq!(
            g.rows(&seed, &p, &idx).unwrap(),
            c.rows(&seed, &p, &idx).unwrap(),
            "{p:?} rows"
        );
    }
}

#[test]
#[ignore = "needs an NVIDIA GPU"]
fn gpu_extreme_inner_dimension_is_exact() {
    // k = MAX_K: the largest sums; compare a few rows with the CPU.
    let mut g = gpu();
    let mut c = CpuBackend::new();
    let seed = Seed([0x01; 32]);
    let p = Params {
        m: 16,
        n: 64,
        k: 65536,
        chunks: 1,
    };
    assert_eq!(
        g.chunk(&seed, &p, 0).unwrap(),
        c.chunk(&seed, &p, 0).unwrap()
    );
}
