//! End-to-end protocol behaviour: completeness, scoring, deadlines, and every message check.

mod common;

use common::*;
use kaisar_popw::checker::AfterCommit;
use kaisar_popw::messages::{self, MessageError};
use kaisar_popw::{
    CheckerError, CpuBackend, Failure, GpuSnapshot, GpuUuidHash, Nonce, Open, Params, RowIndex,
    Signer, WorkerError,
};
use std::time::{Duration, Instant};

fn small() -> Params {
    Params {
        m: 16,
        n: 16,
        k: 32,
        chunks: 4,
    }
}

#[test]
fn honest_cpu_worker_always_passes() {
    // Varied shapes: odd chunk counts (promoted nodes in the top tree), multi-chunk BLAKE3 rows
    // (n = 512), a single chunk, m = 1, more openings than rows.
    let shapes = [
        Params {
            m: 16,
            n: 16,
            k: 32,
            chunks: 4,
        },
        Params {
            m: 8,
            n: 32,
            k: 48,
            chunks: 5,
        },
        Params {
            m: 4,
            n: 512,
            k: 16,
            chunks: 3,
        },
        Params {
            m: 32,
            n: 64,
            k: 64,
            chunks: 1,
        },
        Params {
            m: 1,
            n: 16,
            k: 16,
            chunks: 7,
        },
    ];
    let mut r = rng(1);
    let mut runs = 0;
    for p in shapes {
        let checker = checker(&p, 128);
        let mut w = worker(CpuBackend::new(), &p);
        for _ in 0..8 {
            let v = run_exchange(&checker, &mut w, p, &mut r, Timing::default());
            assert_eq!(v.outcome, Ok(()), "{p:?}: {v:?}");
            assert_eq!(v.rows_verified as u64, p.rows().min(128));
            assert!((v.ratio.unwrap() - 0.8).abs() < 1e-9);
            runs += 1;
        }
    }
    assert_eq!(runs, 40);
}

#[test]
fn throughput_is_scored_against_the_calibrated_figure_after_removing_rtt() {
    let p = small();
    let c = checker(&p, 16);
    let mut w = worker(CpuBackend::new(), &p);
    let mut r = rng(2);
    let at = |secs: f64, rtt_ms: u64| Timing {
        commit_after: secs,
        openings_after: 0.1,
        rtt: (rtt_ms > 0).then(|| Duration::from_millis(rtt_ms)),
    };
    // 2.5 s -> ratio 0.4: too slow.
    let v = run_exchange(&c, &mut w, p, &mut r, at(2.5, 0));
    assert_eq!(v.outcome, Err(Failure::TooSlow));
    assert!((v.ratio.unwrap() - 0.4).abs() < 1e-9);
    // 2.03 s without a ping: 0.493, too slow; with a measured 40 ms round trip (under the cap of
    // 5% of the expected 1 s) -> 1.99 s of work -> 0.503: passes.
    let v = run_exchange(&c, &mut w, p, &mut r, at(2.03, 0));
    assert_eq!(v.outcome, Err(Failure::TooSlow));
    assert_eq!(v.rtt_credit, Duration::ZERO);
    let v = run_exchange(&c, &mut w, p, &mut r, at(2.03, 40));
    assert_eq!(v.outcome, Ok(()));
    assert_eq!(v.rtt_credit, Duration::from_millis(40));
    assert!((v.work_time.unwrap().as_secs_f64() - 1.99).abs() < 1e-6);
    // 0.9 s -> 1.11: faster than the claimed model can be: misclaimed.
    let v = run_exchange(&c, &mut w, p, &mut r, at(0.9, 0));
    assert_eq!(v.outcome, Err(Failure::TooFast));
    // At (just inside) the edges.
    assert_eq!(
        run_exchange(&c, &mut w, p, &mut r, at(2.0, 0)).outcome,
        Ok(())
    );
    assert_eq!(
        run_exchange(&c, &mut w, p, &mut r, at(1.0 / 1.049, 0)).outcome,
        Ok(())
    );
    assert_eq!(
        run_exchange(&c, &mut w, p, &mut r, at(1.0 / 1.051, 0)).outcome,
        Err(Failure::TooFast)
    );
    assert_eq!(
        run_exchange(&c, &mut w, p, &mut r, at(2.001, 0)).outcome,
        Err(Failure::TooSlow)
    );
    // The reported throughput is ops / work time.
    let v = run_exchange(&c, &mut w, p, &mut r, at(1.6, 0));
    let expected = p.total_ops() as f64 / 1.6 / 1e12;
    assert!((v.throughput_tops.unwrap() - expected).abs() < expected * 1e-9);
}

#[test]
fn late_commit_and_late_openings_fail() {
    let p = small();
    let c = checker(&p, 8);
    let mut w = worker(CpuBackend::new(), &p);
    let mut r = rng(3);
    let v = run_exchange(
        &c,
        &mut w,
        p,
        &mut r,
        Timing {
            commit_after: 31.0,
            ..Timing::default()
        },
    );
    assert_eq!(v.outcome, Err(Failure::CommitTimeout));
    let v = run_exchange(
        &c,
        &mut w,
        p,
        &mut r,
        Timing {
            openings_after: 10.5,
            ..Timing::default()
        },
    );
    assert_eq!(v.outcome, Err(Failure::OpeningsLate));
    assert_eq!(v.rows_verified, 0);
}

#[test]
fn check_timeout_fails_a_silent_worker_at_each_stage() {
    let p = small();
    let c = checker(&p, 8);
    let mut r = rng(4);
    let nonce = Nonce::random_with_rng(&mut r);
    let t0 = Instant::now();
    let (mut s, _) = c.issue_with_rng(&request(nonce, p), &mut r, t0).unwrap();
    assert_eq!(s.check_timeout(t0 + Duration::from_secs(29)), None);
    assert_eq!(
        s.check_timeout(t0 + Duration::from_secs(31))
            .unwrap()
            .outcome,
        Err(Failure::CommitTimeout)
    );

    let mut w = worker(CpuBackend::new(), &p);
    let nonce = Nonce::random_with_rng(&mut r);
    let (mut s, ch) = c.issue_with_rng(&request(nonce, p), &mut r, t0).unwrap();
    let acc = w.accept(&ch, &expectation(&nonce)).unwrap();
    let (_, commit) = w.work(acc, &mut snapshots()).unwrap();
    let at = t0 + Duration::from_secs(1);
    assert!(matches!(
        s.receive_commit_with_rng(&commit, at, &mut r).unwrap(),
        AfterCommit::SendOpen(_)
    ));
    assert_eq!(s.check_timeout(at + Duration::from_secs(9)), None);
    assert_eq!(
        s.check_timeout(at + Duration::from_secs(11))
            .unwrap()
            .outcome,
        Err(Failure::OpeningsLate)
    );
}

#[test]
fn snapshots_of_another_gpu_fail() {
    let p = small();
    let c = checker(&p, 8);
    let mut w = worker(CpuBackend::new(), &p);
    let mut r = rng(5);
    let nonce = Nonce::random_with_rng(&mut r);
    let t0 = Instant::now();
    let (mut s, ch) = c.issue_with_rng(&request(nonce, p), &mut r, t0).unwrap();
    let acc = w.accept(&ch, &expectation(&nonce)).unwrap();
    let other = GpuUuidHash::of_uuid("GPU-other");
    let (pending, commit) = w
        .work(acc, &mut || GpuSnapshot::without_telemetry(other, 5))
        .unwrap();
    let AfterCommit::SendOpen(open) = s
        .receive_commit_with_rng(&commit, t0 + Duration::from_millis(1250), &mut r)
        .unwrap()
    else {
        panic!("expected an open request")
    };
    let openings = w.open(&pending, &open).unwrap();
    let v = s
        .receive_openings(&openings, t0 + Duration::from_secs(2))
        .unwrap();
    assert_eq!(v.outcome, Err(Failure::BadSnapshots));
}

#[test]
fn messages_replayed_from_an_earlier_challenge_are_rejected() {
    let p = small();
    let c = checker(&p, 8);
    let mut w = worker(CpuBackend::new(), &p);
    let mut r = rng(6);
    let t0 = Instant::now();

    // Exchange 1, complete.
    let n1 = Nonce::random_with_rng(&mut r);
    let (mut s1, ch1) = c.issue_with_rng(&request(n1, p), &mut r, t0).unwrap();
    let (pending1, commit1) = w
        .work(w.accept(&ch1, &expectation(&n1)).unwrap(), &mut snapshots())
        .unwrap();
    let AfterCommit::SendOpen(open1) = s1
        .receive_commit_with_rng(&commit1, t0 + Duration::from_millis(1250), &mut r)
        .unwrap()
    else {
        panic!()
    };
    let openings1 = w.open(&pending1, &open1).unwrap();

    // Exchange 2: the old commit, open and openings are refused with WrongChallenge.
    let n2 = Nonce::random_with_rng(&mut r);
    let (mut s2, ch2) = c.issue_with_rng(&request(n2, p), &mut r, t0).unwrap();
    assert!(matches!(
        s2.receive_commit_with_rng(&commit1, t0 + Duration::from_secs(1), &mut r),
        Err(CheckerError::Message(MessageError::WrongChallenge { .. }))
    ));
    let (pending2, commit2) = w
        .work(w.accept(&ch2, &expectation(&n2)).unwrap(), &mut snapshots())
        .unwrap();
    assert!(matches!(
        w.open(&pending2, &open1),
        Err(WorkerError::Message(MessageError::WrongChallenge { .. }))
    ));
    let AfterCommit::SendOpen(open2) = s2
        .receive_commit_with_rng(&commit2, t0 + Duration::from_millis(1250), &mut r)
        .unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        s2.receive_openings(&openings1, t0 + Duration::from_secs(2)),
        Err(CheckerError::Message(_))
    ));
    // The session is still waiting, and the genuine answer passes.
    let openings2 = w.open(&pending2, &open2).unwrap();
    assert!(s2
        .receive_openings(&openings2, t0 + Duration::from_secs(2))
        .unwrap()
        .passed());
    // Replaying the commit to a finished session is refused.
    assert_eq!(
        s2.receive_commit_with_rng(&commit2, t0 + Duration::from_secs(3), &mut r)
            .unwrap_err(),
        CheckerError::UnexpectedMessage
    );
    // And exchange 1 still completes with its own openings.
    assert!(s1
        .receive_openings(&openings1, t0 + Duration::from_secs(2))
        .unwrap()
        .passed());
    // A challenge replayed to the worker still parses, but it is the same id: the agent's replay
    // cache (keyed by challenge id) must refuse it; the id is stable for that.
    assert_eq!(w.accept(&ch1, &expectation(&n1)).unwrap().id, s1.id());
}

#[test]
fn worker_refuses_challenges_not_meant_for_it() {
    let p = small();
    let c = checker(&p, 8);
    let w = worker(CpuBackend::new(), &p);
    let mut r = rng(7);
    let nonce = Nonce::random_with_rng(&mut r);
    let t0 = Instant::now();
    let good = expectation(&nonce);

    let (_, ch) = c.issue_with_rng(&request(nonce, p), &mut r, t0).unwrap();
    assert!(w.accept(&ch, &good).is_ok());

    // Nonce not matching the on-chain commitment.
    let mut e = good;
    e.nonce_commitment = Nonce([0; 32]).commitment();
    assert_eq!(w.accept(&ch, &e).unwrap_err(), WorkerError::NonceMismatch);
    // Another chain or epoch.
    let mut e = good;
    e.genesis_hash[0] ^= 1;
    assert_eq!(
        w.accept(&ch, &e).unwrap_err(),
        WorkerError::ChainMismatch("genesis hash")
    );
    let mut e = good;
    e.epoch_randomness[0] ^= 1;
    assert_eq!(
        w.accept(&ch, &e).unwrap_err(),
        WorkerError::ChainMismatch("epoch randomness")
    );
    // Signed by someone who is not the committed checker.
    let impostor = kaisar_popw::Checker::with_table(
        Signer::from_seed(&[0xEE; 32]),
        Default::default(),
        table_for(&p),
    );
    let (_, forged) = impostor
        .issue_with_rng(&request(nonce, p), &mut r, t0)
        .unwrap();
    assert!(matches!(
        w.accept(&forged, &good),
        Err(WorkerError::Message(MessageError::WrongSigner { .. }))
    ));
    // For another worker, agent, GPU, model.
    let mut req = request(nonce, p);
    req.worker_id += 1;
    assert_eq!(
        w.accept(&c.issue_with_rng(&req, &mut r, t0).unwrap().1, &good)
            .unwrap_err(),
        WorkerError::NotForMe("worker id")
    );
    let mut req = request(nonce, p);
    req.worker_agent = Signer::from_seed(&[3; 32]).public();
    assert_eq!(
        w.accept(&c.issue_with_rng(&req, &mut r, t0).unwrap().1, &good)
            .unwrap_err(),
        WorkerError::NotForMe("agent key")
    );
    let mut req = request(nonce, p);
    req.gpu_uuid_hash = GpuUuidHash::of_uuid("GPU-x");
    assert_eq!(
        w.accept(&c.issue_with_rng(&req, &mut r, t0).unwrap().1, &good)
            .unwrap_err(),
        WorkerError::NotForMe("GPU")
    );
    // Too much work.
    let small_worker = worker(CpuBackend::new(), &p).with_max_ops(p.total_ops() - 1);
    assert!(matches!(
        small_worker.accept(&ch, &good),
        Err(WorkerError::TooMuchWork { .. })
    ));
    // Oversized bytes are refused before parsing.
    let mut big = ch.clone();
    big.extend_from_slice(&[0; 4096]);
    assert!(matches!(
        w.accept(&big, &good),
        Err(WorkerError::Message(MessageError::TooLarge { .. }))
    ));
    // Bit flips anywhere break the signature.
    let mut flipped = ch.clone();
    flipped[10] ^= 0x80;
    assert_eq!(
        w.accept(&flipped, &good).unwrap_err(),
        WorkerError::Message(MessageError::BadSignature)
    );
}

#[test]
fn worker_refuses_bad_open_requests() {
    let p = small();
    let c = checker(&p, 8);
    let mut w = worker(CpuBackend::new(), &p);
    let mut r = rng(8);
    let nonce = Nonce::random_with_rng(&mut r);
    let (s, ch) = c
        .issue_with_rng(&request(nonce, p), &mut r, Instant::now())
        .unwrap();
    let (pending, _) = w
        .work(
            w.accept(&ch, &expectation(&nonce)).unwrap(),
            &mut snapshots(),
        )
        .unwrap();
    let checker_key = checker_signer();
    let seal = |indices: Vec<RowIndex>| {
        messages::seal(
            &Open {
                challenge_id: s.id(),
                indices,
            },
            &checker_key,
        )
    };
    assert_eq!(
        w.open(&pending, &seal(vec![])).unwrap_err(),
        WorkerError::BadOpenRequest("row count")
    );
    assert_eq!(
        w.open(&pending, &seal(vec![RowIndex { t: 4, i: 0 }]))
            .unwrap_err(),
        WorkerError::BadOpenRequest("row out of range")
    );
    assert_eq!(
        w.open(&pending, &seal(vec![RowIndex { t: 0, i: 16 }]))
            .unwrap_err(),
        WorkerError::BadOpenRequest("row out of range")
    );
    let too_many = vec![RowIndex { t: 0, i: 0 }; 1025];
    assert!(matches!(
        w.open(&pending, &seal(too_many)),
        Err(WorkerError::Message(MessageError::TooLarge { .. }))
    ));
    // An open request signed by the worker's own key (not the checker) is refused.
    let forged = messages::seal(
        &Open {
            challenge_id: s.id(),
            indices: vec![RowIndex { t: 0, i: 0 }],
        },
        &agent_signer(),
    );
    assert!(matches!(
        w.open(&pending, &forged),
        Err(WorkerError::Message(MessageError::WrongSigner { .. }))
    ));
    // A good one works.
    assert!(w
        .open(&pending, &seal(vec![RowIndex { t: 3, i: 15 }]))
        .is_ok());
}

#[test]
fn checker_refuses_unsigned_oversized_or_out_of_order_messages() {
    let p = small();
    let c = checker(&p, 8);
    let mut w = worker(CpuBackend::new(), &p);
    let mut r = rng(9);
    let nonce = Nonce::random_with_rng(&mut r);
    let t0 = Instant::now();
    let (mut s, ch) = c.issue_with_rng(&request(nonce, p), &mut r, t0).unwrap();
    let (pending, commit) = w
        .work(
            w.accept(&ch, &expectation(&nonce)).unwrap(),
            &mut snapshots(),
        )
        .unwrap();
    // Openings before the commit.
    assert_eq!(
        s.receive_openings(&commit, t0).unwrap_err(),
        CheckerError::UnexpectedMessage
    );
    // A commit signed by another key.
    let other =
        kaisar_popw::Worker::new(Signer::from_seed(&[5; 32]), identity(), CpuBackend::new())
            .with_shape(p.shape());
    let mut rogue = other;
    let mut req = request(nonce, p);
    req.worker_agent = rogue.public();
    let (_, ch_rogue) = c.issue_with_rng(&req, &mut r, t0).unwrap();
    let mut e = expectation(&nonce);
    e.checker = c.public();
    let (_, rogue_commit) = rogue
        .work(rogue.accept(&ch_rogue, &e).unwrap(), &mut snapshots())
        .unwrap();
    assert!(matches!(
        s.receive_commit_with_rng(&rogue_commit, t0, &mut r),
        Err(CheckerError::Message(MessageError::WrongSigner { .. }))
    ));
    // Oversized commit.
    let mut big = commit.clone();
    big.insert(0, 0);
    assert!(matches!(
        s.receive_commit_with_rng(&big, t0, &mut r),
        Err(CheckerError::Message(MessageError::TooLarge { .. }))
    ));
    // The genuine commit still works, then oversized openings are refused before parsing.
    let AfterCommit::SendOpen(open) = s
        .receive_commit_with_rng(&commit, t0 + Duration::from_millis(1250), &mut r)
        .unwrap()
    else {
        panic!()
    };
    let mut openings = w.open(&pending, &open).unwrap();
    let good = openings.clone();
    openings.splice(0..0, vec![0u8; 1 << 20]);
    assert!(matches!(
        s.receive_openings(&openings, t0 + Duration::from_secs(2)),
        Err(CheckerError::Message(MessageError::TooLarge { .. }))
    ));
    assert!(s
        .receive_openings(&good, t0 + Duration::from_secs(2))
        .unwrap()
        .passed());
    // Unknown model / bad params at issue time.
    let mut req = request(nonce, p);
    req.claimed_model = kaisar_primitives::GpuModel::H100Sxm;
    assert_eq!(
        c.issue_with_rng(&req, &mut r, t0).unwrap_err(),
        CheckerError::UnknownModel(kaisar_primitives::GpuModel::H100Sxm)
    );
    let mut req = request(nonce, p);
    req.params = Some(Params { k: 24, ..p });
    assert!(matches!(
        c.issue_with_rng(&req, &mut r, t0),
        Err(CheckerError::BadParams(_))
    ));
}

#[test]
fn standard_params_come_from_the_calibration_table() {
    let c = kaisar_popw::Checker::new(checker_signer(), Default::default());
    let mut r = rng(10);
    let mut req = request(Nonce::random_with_rng(&mut r), small());
    req.params = None;
    req.claimed_model = kaisar_primitives::GpuModel::H100Sxm;
    let (s, _) = c.issue_with_rng(&req, &mut r, Instant::now()).unwrap();
    let p = s.challenge().params;
    assert_eq!(p.shape(), kaisar_popw::STANDARD_SHAPE);
    assert_eq!(
        Some(p),
        kaisar_popw::CalibrationTable::builtin().standard_params(req.claimed_model)
    );
}

/// The largest number of openings whose honest answer fits the hard message cap under `p`.
fn largest_openings_within_the_cap(p: &Params) -> u32 {
    (1..=messages::MAX_OPENINGS)
        .take_while(|c| messages::max_openings_len(p, *c) <= messages::MAX_MESSAGE_BYTES)
        .last()
        .unwrap()
}

#[test]
fn honest_worker_at_the_message_cap_passes_and_parameters_beyond_it_are_refused_at_issue() {
    // n = 2^15 (the largest allowed): one opened row is 128 KiB, so about 510 rows fill the
    // 64 MiB cap. The review's case: 512 openings used to be issued, the honest answer was then
    // refused as TooLarge and the worker failed as late.
    let p = Params {
        m: 512,
        n: 1 << 15,
        k: 16,
        chunks: 1,
    };
    let largest = largest_openings_within_the_cap(&p);
    assert!((500..512).contains(&largest), "{largest}");
    let mut r = rng(31);
    let mut w = worker(CpuBackend::new(), &p);
    let v = run_exchange(&checker(&p, largest), &mut w, p, &mut r, Timing::default());
    assert_eq!(v.outcome, Ok(()), "{v:?}");
    assert_eq!(v.rows_verified, largest as usize);

    // One more row: refused when the challenge is issued, with a typed error.
    let nonce = Nonce::random_with_rng(&mut r);
    let t0 = Instant::now();
    let err = checker(&p, largest + 1)
        .issue_with_rng(&request(nonce, p), &mut r, t0)
        .unwrap_err();
    assert_eq!(
        err,
        CheckerError::OpeningsTooLarge {
            openings: largest + 1,
            len: messages::max_openings_len(&p, largest + 1),
            max: messages::MAX_MESSAGE_BYTES,
        }
    );
    // The review's exact cases: n = 32768 with 512 openings, n = 16384 with 1024.
    for (n, openings) in [(1u32 << 15, 512u32), (1 << 14, 1024)] {
        let q = Params {
            m: 1024,
            n,
            k: 16,
            chunks: 1,
        };
        assert!(matches!(
            checker(&q, openings).issue_with_rng(&request(nonce, q), &mut r, t0),
            Err(CheckerError::OpeningsTooLarge { .. })
        ));
        // One row less (or a smaller n) is fine.
        assert!(checker(&q, largest_openings_within_the_cap(&q))
            .issue_with_rng(&request(nonce, q), &mut r, t0)
            .is_ok());
    }

    // A worker asked (by a non-conforming checker) for an answer over the cap refuses the
    // request instead of computing rows nobody will read.
    let (s, ch) = checker(&p, largest)
        .issue_with_rng(&request(nonce, p), &mut r, t0)
        .unwrap();
    let (pending, _) = w
        .work(
            w.accept(&ch, &expectation(&nonce)).unwrap(),
            &mut snapshots(),
        )
        .unwrap();
    let too_many = messages::seal(
        &Open {
            challenge_id: s.id(),
            indices: (0..largest + 1).map(|i| RowIndex { t: 0, i }).collect(),
        },
        &checker_signer(),
    );
    assert_eq!(
        w.open(&pending, &too_many).unwrap_err(),
        WorkerError::BadOpenRequest("answer would exceed the message cap")
    );
}

#[test]
fn slow_worker_answering_pings_slowly_gets_only_the_capped_rtt_credit() {
    // The review's case: a worker at 0.3x the calibrated speed (commit after 1 / 0.3 s) that
    // answers the pings behind the RTT in 1.5 s used to pass (3.33 - 1.5 = 1.83 s -> 0.545).
    let p = small();
    let c = checker(&p, 8);
    let mut w = worker(CpuBackend::new(), &p);
    let mut r = rng(41);
    let slow = Timing {
        commit_after: 1.0 / 0.3,
        openings_after: 0.1,
        rtt: Some(Duration::from_millis(1500)),
    };
    let (s, v) = run_exchange_keep(&c, &mut w, p, &mut r, slow);
    assert_eq!(v.outcome, Err(Failure::TooSlow));
    // The credit is capped at 5% of the expected work time (1 s with this table).
    let cap = s.max_rtt_credit();
    assert!((cap.as_secs_f64() - kaisar_popw::MAX_RTT_CREDIT_FRACTION).abs() < 1e-6);
    assert_eq!(v.rtt_credit, cap);
    assert!(v.ratio.unwrap() < 0.32, "{v:?}");

    // The credit is the minimum of the checker-timed round trips, not what anyone claims.
    let nonce = Nonce::random_with_rng(&mut r);
    let t0 = Instant::now();
    let (mut s, ch) = c.issue_with_rng(&request(nonce, p), &mut r, t0).unwrap();
    let acc = w.accept(&ch, &expectation(&nonce)).unwrap();
    let ping0 = s.ping(t0).unwrap();
    let ping1 = s.ping(t0 + Duration::from_millis(100)).unwrap();
    // (an agent answering on another thread uses the free function with its own key handle)
    let pong1 = kaisar_popw::answer_ping(&agent_signer(), &acc, &ping1).unwrap();
    let pong0 = w.pong(&acc, &ping0).unwrap();
    assert_eq!(
        s.receive_pong(&pong0, t0 + Duration::from_millis(1500)),
        Ok(Duration::from_millis(1500))
    );
    assert_eq!(
        s.receive_pong(&pong1, t0 + Duration::from_millis(120)),
        Ok(Duration::from_millis(20))
    );
    assert_eq!(s.rtt_credit(), Duration::from_millis(20));
    // A pong replayed, for a ping never sent, from another key, or for another challenge.
    assert_eq!(
        s.receive_pong(&pong1, t0 + Duration::from_millis(130)),
        Err(CheckerError::UnexpectedMessage)
    );
    let unknown = messages::seal(
        &kaisar_popw::Pong {
            challenge_id: s.id(),
            seq: 5,
        },
        &agent_signer(),
    );
    assert_eq!(
        s.receive_pong(&unknown, t0),
        Err(CheckerError::UnknownPing(5))
    );
    let forged = messages::seal(
        &kaisar_popw::Pong {
            challenge_id: s.id(),
            seq: 0,
        },
        &checker_signer(),
    );
    assert!(matches!(
        s.receive_pong(&forged, t0),
        Err(CheckerError::Message(MessageError::WrongSigner { .. }))
    ));
    let other_nonce = Nonce::random_with_rng(&mut r);
    let (mut other, _) = c
        .issue_with_rng(&request(other_nonce, p), &mut r, t0)
        .unwrap();
    let _ = other.ping(t0).unwrap();
    assert!(matches!(
        other.receive_pong(&pong0, t0),
        Err(CheckerError::Message(MessageError::WrongChallenge { .. }))
    ));
    // Pings are bounded.
    for _ in 2..kaisar_popw::MAX_PINGS {
        s.ping(t0).unwrap();
    }
    assert_eq!(s.ping(t0), Err(CheckerError::TooManyPings));
    // The worker only answers genuine pings of the checker for its own challenge.
    let ping_other = other.ping(t0).unwrap();
    assert!(matches!(
        w.pong(&acc, &ping_other),
        Err(WorkerError::Message(MessageError::WrongChallenge { .. }))
    ));
    let mut bad = ping0.clone();
    bad[3] ^= 1;
    assert_eq!(
        w.pong(&acc, &bad).unwrap_err(),
        WorkerError::Message(MessageError::BadSignature)
    );
    // Nothing is sent or received after the verdict.
    let v = run_exchange_keep(&c, &mut w, p, &mut r, Timing::default());
    let mut done = v.0;
    assert_eq!(done.ping(t0), Err(CheckerError::Finished));
}

#[test]
fn worker_refuses_a_shape_other_than_the_calibrated_one() {
    // The review's case: an RTX A4000 (16 GB) worker was sent m = 2^16, n = 2^15, k = 2^16 with
    // 5 chunks. That is within twice the model's standard operation count, so it used to be
    // accepted, and A_t, B, C_t alone need 4 + 2 + 8 = 14 GiB of GPU memory.
    let c = kaisar_popw::Checker::new(checker_signer(), Default::default());
    let model = kaisar_primitives::GpuModel::RtxA4000;
    let w = kaisar_popw::Worker::new(
        agent_signer(),
        kaisar_popw::WorkerIdentity {
            model,
            ..identity()
        },
        CpuBackend::new(),
    );
    let huge = Params {
        m: 1 << 16,
        n: 1 << 15,
        k: 1 << 16,
        chunks: 5,
    };
    let standard = kaisar_popw::CalibrationTable::builtin()
        .standard_params(model)
        .unwrap();
    assert!(huge.total_ops() <= 2 * standard.total_ops());
    let buffers = huge.m as u64 * huge.k as u64
        + huge.k as u64 * huge.n as u64
        + 4 * huge.m as u64 * huge.n as u64;
    assert_eq!(buffers, 14 << 30);
    let mut r = rng(51);
    let t0 = Instant::now();
    let nonce = Nonce::random_with_rng(&mut r);
    let mut req = request(nonce, huge);
    req.claimed_model = model;
    let (_, ch) = c.issue_with_rng(&req, &mut r, t0).unwrap();
    assert_eq!(
        w.accept(&ch, &expectation(&nonce)).unwrap_err(),
        WorkerError::UnexpectedShape {
            got: huge.shape(),
            expected: kaisar_popw::STANDARD_SHAPE,
        }
    );
    // Any other shape too (here a smaller one); the standard challenge for the model is
    // accepted.
    req.params = Some(Params {
        k: kaisar_popw::STANDARD_SHAPE.k / 2,
        ..standard
    });
    let (_, ch) = c.issue_with_rng(&req, &mut r, t0).unwrap();
    assert!(matches!(
        w.accept(&ch, &expectation(&nonce)),
        Err(WorkerError::UnexpectedShape { .. })
    ));
    req.params = None;
    let (s, ch) = c.issue_with_rng(&req, &mut r, t0).unwrap();
    let accepted = w.accept(&ch, &expectation(&nonce)).unwrap();
    assert_eq!(accepted.challenge.params, standard);
    // And its seed binds the parameters: the same nonce under the smaller shape (a challenge a
    // worker might have computed before) has another seed.
    let mut smaller = s.challenge().clone();
    smaller.params.k /= 2;
    assert_ne!(smaller.seed(), accepted.seed);
}
