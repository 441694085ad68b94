//! The `kaisar-provider` binary: `probe`, `serve` (a full PoPW exchange against the running
//! binary, then a graceful SIGTERM), and its refusals (no NVML, an open key file).

use kaisar_popw::checker::AfterCommit;
use kaisar_popw::{
    CalibrationTable, ChallengeRequest, Checker, CheckerConfig, GpuUuidHash, Nonce, Params, Signer,
};
use kaisar_primitives::GpuModel;
use kaisar_provider::popw_http::Client;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kaisar-provider");
const AGENT_SEED_HEX: &str = "a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9";
const CHECKER_SEED: [u8; 32] = [0xC1; 32];
const PARAMS: Params = Params {
    m: 16,
    n: 16,
    k: 32,
    chunks: 4,
};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gpus-2x-h100.json")
}

fn write_config(dir: &Path, gpu: &str, extra: &str) -> PathBuf {
    let path = dir.join("provider.toml");
    std::fs::write(&path, format!("[gpu]\n{gpu}\n{extra}")).unwrap();
    path
}

fn fake_gpu() -> String {
    format!("backend = \"fake\"\nfixture = \"{}\"", fixture().display())
}

#[test]
fn probe_prints_the_fake_inventory_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake_gpu(), "");
    let out = Command::new(BIN)
        .args(["--config"])
        .arg(&config)
        .arg("probe")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["backend"], "fake");
    assert_eq!(json["gpus"].as_array().unwrap().len(), 2);
    assert_eq!(json["gpus"][1]["model"], "H100Sxm");
    assert_eq!(
        json["gpus"][1]["identity"]["pci_bus_id"],
        "00000000:3B:00.0"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("development only"));
}

#[test]
fn the_nvml_path_refuses_to_start_without_nvml_in_one_line() {
    if Path::new("/dev/nvidiactl").exists() {
        eprintln!("SKIPPED: this machine has an NVIDIA driver");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "backend = \"nvml\"", "");
    for command in ["probe", "serve"] {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg(command)
            .env("KAISAR_AGENT_SEED", AGENT_SEED_HEX)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("NVML")).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].contains("NVML not available: ")
                && lines[0].contains("use gpu.backend = \"fake\" only for development"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn serve_refuses_a_key_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("agent.key");
    std::fs::write(&key, AGENT_SEED_HEX).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = write_config(
        dir.path(),
        &fake_gpu(),
        &format!("[agent]\nkey_file = \"{}\"\n", key.display()),
    );
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env_remove("KAISAR_AGENT_SEED")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chmod 600"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_a_full_exchange_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let checker_key = Signer::from_seed(&CHECKER_SEED).public();
    let config = write_config(
        dir.path(),
        &fake_gpu(),
        &format!(
            "[agent]\nworker_id = 5\n[responder]\nlisten = \"127.0.0.1:{port}\"\n\
             test_shape = {{ m = 16, n = 16, k = 32 }}\n[responder.dev]\n\
             checkers = [\"0x{}\"]\ngenesis_hash = \"0x{}\"\nepoch_randomness = \"0x{}\"\n",
            hex::encode(checker_key.0),
            "11".repeat(32),
            "22".repeat(32)
        ),
    );
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("KAISAR_AGENT_SEED", AGENT_SEED_HEX)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("serve exited with {status}: {err}");
        }
        assert!(Instant::now() < deadline, "serve never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The exchange, as the checker daemon will run it, against GPU 1 of the fixture.
    let table = CalibrationTable::parse(
        "[[model]]\nmodel = \"H100Sxm\"\nint8_dense_tops = 1e-9\ncalibrated_fraction = 1.0\n\
         status = \"estimate\"\nsource = \"test\"\n",
    )
    .unwrap();
    let checker = Checker::with_table(
        Signer::from_seed(&CHECKER_SEED),
        CheckerConfig {
            openings: 16,
            min_ratio: 0.0,
            max_ratio: f64::MAX,
            ..CheckerConfig::default()
        },
        table,
    );
    let agent_seed: [u8; 32] = hex::decode(AGENT_SEED_HEX).unwrap().try_into().unwrap();
    let request = ChallengeRequest {
        genesis_hash: [0x11; 32],
        epoch_randomness: [0x22; 32],
        nonce: Nonce([9; 32]),
        worker_id: 5,
        worker_agent: Signer::from_seed(&agent_seed).public(),
        gpu_uuid_hash: GpuUuidHash::of_uuid("GPU-5f1c0b8e-6a8d-4c1e-9a4b-000000000002"),
        claimed_model: GpuModel::H100Sxm,
        params: Some(PARAMS),
    };
    let client = Client::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(10)).unwrap();
    let (mut session, challenge) = checker.issue(&request, Instant::now()).unwrap();
    client.send_challenge(challenge).await.unwrap();
    let commit = client
        .wait_commit(
            &session.id(),
            tokio::time::Instant::now() + Duration::from_secs(30),
        )
        .await
        .unwrap();
    let AfterCommit::SendOpen(open) = session.receive_commit(&commit, Instant::now()).unwrap()
    else {
        panic!("no open request")
    };
    let openings = client.open(open).await.unwrap();
    let verdict = session.receive_openings(&openings, Instant::now()).unwrap();
    assert!(verdict.passed(), "{verdict:?}");
    assert_eq!(verdict.rows_verified, 16);
    // The fake GPU's telemetry travelled in the commit.
    let commit: kaisar_popw::Commit = kaisar_popw::messages::unseal(
        &commit,
        kaisar_popw::messages::max_commit_len(),
        &request.worker_agent,
    )
    .unwrap();
    assert_eq!(commit.before.power_mw, 655_000);

    // Graceful stop on SIGTERM.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(err.contains("SIGTERM: shutting down"), "{err}");
}

#[test]
fn run_refuses_without_the_chain_or_the_containers_section_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("", "no [chain] section"),
        (
            "[chain]\nurl = \"ws://127.0.0.1:1\"\nstate_dir = \"/tmp/x\"\npublic_host = \"h\"\n",
            "no [containers] section",
        ),
    ];
    for (extra, needle) in cases {
        let config = write_config(dir.path(), &fake_gpu(), extra);
        let out = Command::new(BIN)
            .args(["--config"])
            .arg(&config)
            .arg("run")
            .env("KAISAR_AGENT_SEED", AGENT_SEED_HEX)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}
