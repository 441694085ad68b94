//! The kernel's word on an OOM kill, for engines that do not report one.
//!
//! An order container killed for exceeding its memory limit is the user's workload
//! ([`crate::plan::ExitReport::OomKilled`]). The engine says so in `State.OOMKilled`, except
//! where its OOM detection does not work: Podman 4.3 (conmon 2.1) with runc on cgroup v1 reports
//! `OOMKilled: false` for a memory-limit kill, even through its own `podman inspect` (measured
//! on the development VM), and the container's cgroup, with its `memory.oom_control` counter,
//! is gone once the container exited.
//!
//! The kernel logs every OOM kill, on cgroup v1 and v2, in one line:
//!
//! ```text
//! oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=...,mems_allowed=0,
//!   oom_memcg=/libpod_parent/libpod-<container id>,task_memcg=...,task=app,pid=27455,uid=0
//! ```
//!
//! `constraint=CONSTRAINT_MEMCG` says a memory cgroup's limit was hit (not the host running
//! out of memory: `CONSTRAINT_NONE`, the provider's problem, which must not be blamed on the
//! user), and `oom_memcg` names the cgroup whose limit it was. So an exit by SIGKILL is counted
//! as an OOM kill when, and only when, the kernel log has such a line whose `oom_memcg` is the
//! container's own cgroup (its last path component contains the full container id: `libpod-<id>`,
//! `docker-<id>.scope`, `/docker/<id>`). An exit code 137 alone never is (a process may
//! `kill -9` itself; the host may kill it).
//!
//! The log is read from `/dev/kmsg` (root, or `CAP_SYSLOG`); where it cannot be read, or the
//! line has left the kernel's ring buffer, there is no evidence and the exit is reported as the
//! exit code it is.

use std::io::Read;

/// Whether one of the kernel's log `lines` records an OOM kill by the memory limit of container
/// `container_id`'s own cgroup. `container_id` must be the engine's full id (at least 32 hex
/// digits: a short id could match another container's).
pub fn memcg_oom_killed<'a>(container_id: &str, lines: impl IntoIterator<Item = &'a str>) -> bool {
    if container_id.len() < 32 || !container_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    lines.into_iter().any(|line| {
        let Some((_, fields)) = line.split_once("oom-kill:") else {
            return false;
        };
        let mut constraint = None;
        let mut oom_memcg = None;
        for field in fields.trim_end().split(',') {
            match field.split_once('=') {
                Some(("constraint", v)) => constraint = Some(v),
                Some(("oom_memcg", v)) => oom_memcg = Some(v),
                _ => {}
            }
        }
        constraint == Some("CONSTRAINT_MEMCG")
            && oom_memcg
                .and_then(|path| path.rsplit('/').next())
                .is_some_and(|own| own.contains(container_id))
    })
}

/// The kernel log's OOM-kill lines (`oom-kill:...`) still in its ring buffer, read from
/// `/dev/kmsg` without blocking; `None` where it cannot be read (not root and no
/// `CAP_SYSLOG`, no such device). Bounded by the ring buffer (and at most 100 000 records).
pub fn kernel_oom_kill_lines() -> Option<Vec<String>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut kmsg = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK?)
        .open("/dev/kmsg")
        .ok()?;
    let mut lines = Vec::new();
    // One record per read; a record is at most about 1 KiB of text plus its dictionary.
    let mut buf = vec![0u8; 16 * 1024];
    for _ in 0..100_000 {
        match kmsg.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // `<prio>,<seq>,<usec>,<flags>[,...];<message>\n[ KEY=value\n...]`
                let record = String::from_utf8_lossy(&buf[..n]);
                if let Some((_, message)) = record.split_once(';') {
                    let message = message.lines().next().unwrap_or("");
                    if message.contains("oom-kill:") {
                        lines.push(message.to_string());
                    }
                }
            }
            // Records overwritten while reading: the next read goes on with the oldest left.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // `WouldBlock`: the end of the buffer.
            Err(_) => break,
        }
    }
    Some(lines)
}

/// `O_NONBLOCK` where its value is known without `libc` (Linux's generic value; the crate
/// forbids `unsafe` and does not link `libc` for one constant).
const O_NONBLOCK: Option<i32> = if cfg!(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64",
        target_arch = "loongarch64",
        target_arch = "s390x"
    )
)) {
    Some(0o4000)
} else {
    None
};

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "22b9766d8ef0372b18f36c546a13d026b21e441c8997771b29be186d7e37c590";

    /// The line the development VM's kernel logged for the Podman OOM test's container
    /// (cgroup v1).
    fn podman_v1_line(constraint: &str, oom_memcg: &str) -> String {
        format!(
            "oom-kill:constraint={constraint},nodemask=(null),cpuset=libpod-{ID},mems_allowed=0,\
             oom_memcg={oom_memcg},task_memcg=/libpod_parent/libpod-{ID},task=app,pid=27455,uid=0"
        )
    }

    #[test]
    fn a_kill_by_the_containers_own_memory_limit_is_an_oom_kill() {
        let own = podman_v1_line("CONSTRAINT_MEMCG", &format!("/libpod_parent/libpod-{ID}"));
        assert!(memcg_oom_killed(ID, ["unrelated", own.as_str()]));
        // cgroup v2 layouts of Podman and Docker.
        for memcg in [
            format!("/machine.slice/libpod-{ID}.scope"),
            format!("/system.slice/docker-{ID}.scope"),
            format!("/docker/{ID}"),
        ] {
            let line = podman_v1_line("CONSTRAINT_MEMCG", &memcg);
            assert!(memcg_oom_killed(ID, [line.as_str()]), "{memcg}");
        }
    }

    #[test]
    fn a_host_wide_oom_or_another_cgroups_limit_is_not_the_users_oom() {
        let own = format!("/libpod_parent/libpod-{ID}");
        // The host ran out of memory: not the order's limit.
        let host = podman_v1_line("CONSTRAINT_NONE", &own);
        assert!(!memcg_oom_killed(ID, [host.as_str()]));
        // A parent cgroup's limit (the provider's) was hit.
        let parent = podman_v1_line("CONSTRAINT_MEMCG", "/libpod_parent");
        assert!(!memcg_oom_killed(ID, [parent.as_str()]));
        // Another container's kill.
        let other = own.replace("22b9", "33c0");
        let other = podman_v1_line("CONSTRAINT_MEMCG", &other);
        assert!(!memcg_oom_killed(ID, [other.as_str()]));
        // No kill logged at all.
        assert!(!memcg_oom_killed(ID, ["Memory cgroup stats for /x:"]));
    }

    #[test]
    fn a_short_or_malformed_container_id_never_matches() {
        let line = podman_v1_line("CONSTRAINT_MEMCG", &format!("/libpod_parent/libpod-{ID}"));
        for id in ["", "22b9766d8ef0", "libpod", &ID.replace('2', "z")] {
            assert!(!memcg_oom_killed(id, [line.as_str()]), "{id:?}");
        }
    }
}
