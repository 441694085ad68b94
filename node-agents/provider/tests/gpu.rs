//! The GPU inventory: the fake backend's fixture, and NVML on a GPU machine (`--ignored`).

use kaisar_primitives::GpuModel;
use kaisar_provider::gpu::{
    open_backend, BackendKind, FakeBackend, GpuBackend, GpuError, MigMode, NvmlBackend,
};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gpus-2x-h100.json")
}

#[test]
fn fake_backend_reads_the_two_gpu_fixture_with_hashes_and_models() {
    let backend = open_backend(BackendKind::Fake, Some(&fixture())).unwrap();
    assert_eq!(backend.kind(), "fake");
    let gpus = backend.probe().unwrap();
    assert_eq!(gpus.len(), 2);
    assert_eq!(gpus[1].identity.index, 1);
    assert_eq!(gpus[1].identity.pci_bus_id, "00000000:3B:00.0");
    assert_eq!(gpus[1].state.utilization_pct, Some(97));
    assert_eq!(gpus[1].state.mig_mode, MigMode::Disabled);
    assert_eq!(gpus[0].model(), Some(GpuModel::H100Sxm));
    assert_eq!(
        gpus[0].uuid_hash().0,
        kaisar_primitives::gpu_uuid_hash(b"GPU-5f1c0b8e-6a8d-4c1e-9a4b-000000000001")
    );
    assert_eq!(backend.read(1).unwrap(), gpus[1]);
    assert!(matches!(backend.read(2), Err(GpuError::NoSuchGpu(2))));
    // The probe report (what `kaisar-provider probe` prints) carries the hash and the model.
    let json = serde_json::to_value(backend.report().unwrap()).unwrap();
    assert_eq!(json["backend"], "fake");
    assert_eq!(json["gpus"][0]["model"], "H100Sxm");
    assert_eq!(
        json["gpus"][0]["gpu_uuid_hash"],
        format!("0x{}", hex::encode(gpus[0].uuid_hash().0))
    );
    assert_eq!(json["gpus"][1]["identity"]["uuid"], gpus[1].identity.uuid);
}

#[test]
fn bad_fixtures_are_refused_with_a_one_line_reason() {
    let good = std::fs::read_to_string(fixture()).unwrap();
    let cases: Vec<(String, &str)> = vec![
        ("{".into(), "EOF"),
        (r#"{"gpus": []}"#.into(), "no GPUs"),
        (good.replace("\"index\": 1", "\"index\": 5"), "index 5"),
        (
            good.replace(
                "GPU-5f1c0b8e-6a8d-4c1e-9a4b-000000000002",
                "GPU-5f1c0b8e-6a8d-4c1e-9a4b-000000000001",
            ),
            "appears twice",
        ),
        (
            good.replace("\"uuid\": \"GPU-", "\"uuid\": \"XXX-"),
            "not an NVML UUID",
        ),
        (
            good.replace("\"temperature_c\"", "\"temperature\""),
            "unknown field",
        ),
        (good.replace("\"disabled\"", "\"maybe\""), "unknown variant"),
        (
            good.replace(
                "\"memory_used_bytes\": 40960000000",
                "\"memory_used_bytes\": 95520809984",
            ),
            "memory_used_bytes",
        ),
    ];
    for (text, needle) in cases {
        let err = FakeBackend::from_json(&text).unwrap_err();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
        assert!(!err.contains('\n'), "{err:?}");
    }
    // Through the file path: the error names the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, r#"{"gpus": []}"#).unwrap();
    let err = open_backend(BackendKind::Fake, Some(&path)).err().unwrap();
    assert!(matches!(err, GpuError::BadFixture { .. }));
    assert!(err.to_string().contains("bad.json"), "{err}");
    let err = open_backend(BackendKind::Fake, Some(&dir.path().join("missing.json")))
        .err()
        .unwrap();
    assert!(matches!(err, GpuError::FixtureUnreadable { .. }), "{err}");
    let err = open_backend(BackendKind::Fake, None).err().unwrap();
    assert!(err.to_string().contains("gpu.fixture"), "{err}");
}

#[test]
fn nvml_unavailable_is_one_clear_line() {
    // On a machine with a driver this reads the GPUs instead; both outcomes are checked.
    match NvmlBackend::new() {
        Ok(b) => assert!(b.count() > 0),
        Err(e) => {
            assert!(matches!(e, GpuError::NvmlUnavailable(_)));
            let line = e.to_string();
            assert!(line.starts_with("NVML not available: "), "{line}");
            assert!(
                line.ends_with("use gpu.backend = \"fake\" only for development"),
                "{line}"
            );
            assert!(!line.contains('\n'), "{line}");
        }
    }
}

/// On a GPU machine: `cargo test -p kaisar-provider --test gpu -- --ignored`.
#[test]
#[ignore = "needs an NVIDIA GPU and driver"]
fn nvml_reads_every_gpu() {
    let backend = NvmlBackend::new().expect("NVML");
    let started = std::time::Instant::now();
    let gpus = backend.probe().unwrap();
    let took = started.elapsed();
    println!("probe of {} GPUs took {took:?}", gpus.len());
    println!(
        "{}",
        serde_json::to_string_pretty(&backend.report().unwrap()).unwrap()
    );
    assert_eq!(gpus.len() as u32, backend.count());
    for g in &gpus {
        assert!(g.identity.uuid.starts_with("GPU-"), "{:?}", g.identity);
        assert!(g.identity.memory_total_bytes > 0);
        assert!(!g.identity.driver_version.is_empty());
        assert!(g.state.temperature_c.is_some());
    }
}
