//! What the agent does at a block, decided from the chain's orders of its worker and its own
//! containers: pure functions, so that every decision is unit-tested without a chain or an
//! engine. [`crate::agent`] carries the actions out.
//!
//! The rules:
//! - a container whose order is not Pending or Running (completed, cancelled, failed,
//!   settling, gone, or Pending past its accept deadline) is stopped and removed;
//! - a Pending order (before its `accept_by`) is served: image checked, container started (or
//!   the one already started for it reused), then accepted with the sealed access details;
//! - a Running order without a container gets its container again (same token and ports);
//! - a Running order whose container stopped on its own gets its exit reported (once per
//!   container), and the container is started again up to the configured restarts;
//! - a Running order gets a usage report every `usage_every` blocks and a final one at or after
//!   `ends_at`; its sequence number is always the chain's `last_report_seq + 1`, so a restarted
//!   agent never reports a period twice.

use kaisar_primitives::OrderId;
use std::collections::{BTreeMap, BTreeSet};

/// Where an order is, as far as the agent cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for acceptance until (not including) `accept_by`.
    Pending {
        /// The first block it can no longer be accepted in.
        accept_by: u32,
    },
    /// Accepted: its container should run.
    Running {
        /// The block of acceptance.
        started_at: u32,
        /// The block it ends at.
        ends_at: u32,
        /// The last accepted usage report's sequence number (0: none).
        last_report_seq: u32,
    },
    /// Anything else (settling, completed, cancelled, failed, dropped): no container.
    Over,
}

/// A container of this agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerView {
    /// The order it serves.
    pub order_id: OrderId,
    /// Engine id.
    pub id: String,
    /// Whether it runs.
    pub running: bool,
}

/// What the agent remembers about an order between blocks (the part that matters for
/// decisions; persisted parts live in [`crate::state::OrderRecord`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// The block of the last usage report this agent sent (`None`: none since it started).
    pub last_report_at: Option<u32>,
    /// The container whose exit was reported (no second report for it).
    pub reported_exit: Option<String>,
}

/// One thing to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Stop and remove a container whose order is not served any more.
    Remove {
        /// Its order.
        order_id: OrderId,
        /// The container.
        container_id: String,
    },
    /// Forget an order's state (its order is over and it has no container).
    Forget {
        /// The order.
        order_id: OrderId,
    },
    /// Serve a Pending order: check the image, start the container (reusing `existing` if it
    /// runs), accept with the sealed access details; reject it if the image is missing or the
    /// container cannot start.
    Serve {
        /// The order.
        order_id: OrderId,
        /// A container already started for it (an agent restarted before accepting).
        existing: Option<ContainerView>,
    },
    /// Start a Running order's container again (none exists): same token and host ports.
    Restore {
        /// The order.
        order_id: OrderId,
    },
    /// A Running order's container stopped on its own: report the exit, then maybe restart.
    Exited {
        /// The order.
        order_id: OrderId,
        /// The stopped container.
        container_id: String,
    },
    /// Report usage of a Running order.
    ReportUsage {
        /// The order.
        order_id: OrderId,
        /// The chain's `last_report_seq + 1`.
        seq: u32,
        /// At or after `ends_at`: this report completes the order.
        is_final: bool,
    },
}

/// The actions at block `now`: `orders` are the chain's view of the worker's open orders and
/// of every order a container or a state record names; `containers` are this agent's
/// containers; `records` the orders with a state record; `memory` what the agent remembers.
/// Removals come first (they free GPUs and ports), then serving, restoring, exits and reports,
/// each by order id.
pub fn plan(
    now: u32,
    orders: &BTreeMap<OrderId, Phase>,
    containers: &[ContainerView],
    records: &BTreeSet<OrderId>,
    memory: &BTreeMap<OrderId, Memory>,
    usage_every: u32,
) -> Vec<Action> {
    let mut removals = Vec::new();
    let mut by_order: BTreeMap<OrderId, &ContainerView> = BTreeMap::new();
    for c in containers {
        let served = match orders.get(&c.order_id) {
            Some(Phase::Pending { accept_by }) => now < *accept_by,
            Some(Phase::Running { .. }) => true,
            Some(Phase::Over) | None => false,
        };
        // A second container for one order (never started by this agent, which names
        // containers by order) is removed as well.
        if served && !by_order.contains_key(&c.order_id) {
            by_order.insert(c.order_id, c);
        } else {
            removals.push(Action::Remove {
                order_id: c.order_id,
                container_id: c.id.clone(),
            });
        }
    }
    let mut actions = removals;
    for order_id in records {
        let over = matches!(orders.get(order_id), Some(Phase::Over) | None);
        if over && !containers.iter().any(|c| c.order_id == *order_id) {
            actions.push(Action::Forget {
                order_id: *order_id,
            });
        }
    }
    let none = Memory::default();
    for (&order_id, phase) in orders {
        let container = by_order.get(&order_id).copied();
        let mem = memory.get(&order_id).unwrap_or(&none);
        match *phase {
            Phase::Pending { accept_by } if now < accept_by => actions.push(Action::Serve {
                order_id,
                existing: container.cloned(),
            }),
            Phase::Pending { .. } | Phase::Over => {}
            Phase::Running {
                started_at,
                ends_at,
                last_report_seq,
            } => {
                match container {
                    None => actions.push(Action::Restore { order_id }),
                    Some(c) if !c.running && mem.reported_exit.as_deref() != Some(&c.id) => actions
                        .push(Action::Exited {
                            order_id,
                            container_id: c.id.clone(),
                        }),
                    Some(_) => {}
                }
                let is_final = now >= ends_at;
                let since = mem.last_report_at.unwrap_or(started_at);
                if is_final || now.saturating_sub(since) >= usage_every {
                    actions.push(Action::ReportUsage {
                        order_id,
                        seq: last_report_seq.saturating_add(1),
                        is_final,
                    });
                }
            }
        }
    }
    actions
}

/// How a stopped container is reported on-chain, from its exit event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReport {
    /// The process exited with a code (the user's workload).
    Exited(i32),
    /// Killed for exceeding its memory limit (the user's workload).
    OomKilled,
    /// The image was not there (the provider's fault).
    ImageUnavailable,
    /// The engine could not start it (the provider's fault).
    StartFailed,
}

impl ExitReport {
    /// The report of an exit event.
    pub fn of(event: &crate::containers::ExitEvent) -> Self {
        if event.image_missing {
            Self::ImageUnavailable
        } else if event.oom_killed {
            Self::OomKilled
        } else {
            match event.exit_code {
                Some(code) => Self::Exited(code.clamp(i32::MIN as i64, i32::MAX as i64) as i32),
                None => Self::StartFailed,
            }
        }
    }

    /// Whether the user's workload caused it (the agent may restart the container).
    pub fn is_users(&self) -> bool {
        matches!(self, Self::Exited(_) | Self::OomKilled)
    }
}

/// The GPUs to give an order needing `count`: the first of `all` (by index) not `taken` by
/// other containers; `None` if fewer than `count` are free.
pub fn pick_gpus(all: &[String], taken: &BTreeSet<String>, count: u32) -> Option<Vec<String>> {
    let free: Vec<String> = all
        .iter()
        .filter(|u| !taken.contains(*u))
        .take(count as usize)
        .cloned()
        .collect();
    (free.len() == count as usize).then_some(free)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::ExitEvent;

    fn running(started_at: u32, ends_at: u32, seq: u32) -> Phase {
        Phase::Running {
            started_at,
            ends_at,
            last_report_seq: seq,
        }
    }

    fn container(order_id: OrderId, id: &str, running: bool) -> ContainerView {
        ContainerView {
            order_id,
            id: id.into(),
            running,
        }
    }

    fn orders(list: &[(OrderId, Phase)]) -> BTreeMap<OrderId, Phase> {
        list.iter().copied().collect()
    }

    #[test]
    fn containers_of_orders_no_longer_served_are_removed_first() {
        let o = orders(&[
            (1, Phase::Over),
            (2, Phase::Pending { accept_by: 10 }),
            (3, running(0, 100, 0)),
        ]);
        let cs = [
            container(3, "c3", true),
            container(1, "c1", true),
            container(2, "c2", true),
            container(9, "c9", false), // an order the chain no longer has
        ];
        let actions = plan(20, &o, &cs, &BTreeSet::new(), &BTreeMap::new(), 50);
        assert_eq!(
            &actions[..3],
            &[
                Action::Remove {
                    order_id: 1,
                    container_id: "c1".into()
                },
                // Pending past its accept deadline: the chain will fail it.
                Action::Remove {
                    order_id: 2,
                    container_id: "c2".into()
                },
                Action::Remove {
                    order_id: 9,
                    container_id: "c9".into()
                },
            ]
        );
        // The Running order keeps its container and gets nothing else yet.
        assert_eq!(actions.len(), 3);
    }

    #[test]
    fn a_pending_order_is_served_reusing_a_container_started_before_a_crash() {
        let o = orders(&[(5, Phase::Pending { accept_by: 30 })]);
        let actions = plan(10, &o, &[], &BTreeSet::new(), &BTreeMap::new(), 50);
        assert_eq!(
            actions,
            vec![Action::Serve {
                order_id: 5,
                existing: None
            }]
        );
        let c = container(5, "c5", true);
        let actions = plan(
            10,
            &o,
            std::slice::from_ref(&c),
            &BTreeSet::new(),
            &BTreeMap::new(),
            50,
        );
        assert_eq!(
            actions,
            vec![Action::Serve {
                order_id: 5,
                existing: Some(c)
            }]
        );
    }

    #[test]
    fn a_running_order_without_its_container_is_restored() {
        let o = orders(&[(4, running(10, 100, 2))]);
        let actions = plan(12, &o, &[], &BTreeSet::from([4]), &BTreeMap::new(), 50);
        assert_eq!(actions, vec![Action::Restore { order_id: 4 }]);
    }

    #[test]
    fn an_exit_is_reported_once_per_container() {
        let o = orders(&[(4, running(10, 100, 0))]);
        let cs = [container(4, "dead", false)];
        let actions = plan(12, &o, &cs, &BTreeSet::new(), &BTreeMap::new(), 50);
        assert_eq!(
            actions,
            vec![Action::Exited {
                order_id: 4,
                container_id: "dead".into()
            }]
        );
        let memory = BTreeMap::from([(
            4,
            Memory {
                reported_exit: Some("dead".into()),
                ..Memory::default()
            },
        )]);
        assert!(plan(12, &o, &cs, &BTreeSet::new(), &memory, 50).is_empty());
        // A new container (restarted) that stops again is reported again.
        let cs = [container(4, "dead-again", false)];
        assert_eq!(plan(12, &o, &cs, &BTreeSet::new(), &memory, 50).len(), 1);
    }

    #[test]
    fn usage_is_reported_every_period_with_the_chains_next_seq_and_finally_at_the_end() {
        let o = orders(&[(4, running(10, 100, 3))]);
        let cs = [container(4, "c", true)];
        let no_memory = BTreeMap::new();
        // Not yet a period since the start.
        assert!(plan(59, &o, &cs, &BTreeSet::new(), &no_memory, 50).is_empty());
        assert_eq!(
            plan(60, &o, &cs, &BTreeSet::new(), &no_memory, 50),
            vec![Action::ReportUsage {
                order_id: 4,
                seq: 4,
                is_final: false
            }]
        );
        // After a report at 60 the next is due at 110, but the order ends at 100.
        let memory = BTreeMap::from([(
            4,
            Memory {
                last_report_at: Some(60),
                ..Memory::default()
            },
        )]);
        assert!(plan(99, &o, &cs, &BTreeSet::new(), &memory, 50).is_empty());
        assert_eq!(
            plan(100, &o, &cs, &BTreeSet::new(), &memory, 50),
            vec![Action::ReportUsage {
                order_id: 4,
                seq: 4,
                is_final: true
            }]
        );
    }

    #[test]
    fn a_restarted_agent_reports_with_the_chains_seq_not_its_own() {
        // The agent forgot everything; the chain says 7 reports were accepted.
        let o = orders(&[(4, running(10, 1000, 7))]);
        let cs = [container(4, "c", true)];
        let actions = plan(400, &o, &cs, &BTreeSet::from([4]), &BTreeMap::new(), 50);
        assert_eq!(
            actions,
            vec![Action::ReportUsage {
                order_id: 4,
                seq: 8,
                is_final: false
            }]
        );
    }

    #[test]
    fn records_of_finished_orders_are_forgotten_once_their_container_is_gone() {
        let o = orders(&[(1, Phase::Over)]);
        let records = BTreeSet::from([1, 2]);
        // Order 2 is not known to the chain any more (dropped).
        let actions = plan(5, &o, &[], &records, &BTreeMap::new(), 50);
        assert_eq!(
            actions,
            vec![
                Action::Forget { order_id: 1 },
                Action::Forget { order_id: 2 }
            ]
        );
        // With the container still there: removed first, forgotten next time.
        let cs = [container(1, "c1", false)];
        let actions = plan(5, &o, &cs, &BTreeSet::from([1]), &BTreeMap::new(), 50);
        assert_eq!(
            actions,
            vec![Action::Remove {
                order_id: 1,
                container_id: "c1".into()
            }]
        );
    }

    #[test]
    fn exits_map_to_the_chains_kinds() {
        let base = ExitEvent {
            order_id: 1,
            exit_code: Some(3),
            oom_killed: false,
            signal: None,
            restart_count: 0,
            image_missing: false,
            error: None,
        };
        assert_eq!(ExitReport::of(&base), ExitReport::Exited(3));
        assert!(ExitReport::of(&base).is_users());
        let oom = ExitEvent {
            oom_killed: true,
            exit_code: Some(137),
            ..base.clone()
        };
        assert_eq!(ExitReport::of(&oom), ExitReport::OomKilled);
        assert_eq!(
            ExitReport::of(&ExitEvent::image_missing(1)),
            ExitReport::ImageUnavailable
        );
        let never_ran = ExitEvent {
            exit_code: None,
            error: Some("no such file".into()),
            ..base
        };
        assert_eq!(ExitReport::of(&never_ran), ExitReport::StartFailed);
        assert!(!ExitReport::StartFailed.is_users());
    }

    #[test]
    fn gpus_are_picked_among_the_free_ones() {
        let all: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let taken = BTreeSet::from(["a".to_string()]);
        assert_eq!(
            pick_gpus(&all, &taken, 2),
            Some(vec!["b".to_string(), "c".to_string()])
        );
        assert_eq!(pick_gpus(&all, &taken, 3), None);
        assert_eq!(pick_gpus(&all, &taken, 0), Some(vec![]));
    }
}
