#!/usr/bin/env python3
"""Writes docs/weights.md: every Kaisar call's and hook's weight as a ratio to
`pallet_balances::transfer_keep_alive`, all measured in the same `scripts/bench-weights.sh` run.

    scripts/weights-report.py BALANCES_WEIGHTS_RS OUT_MD PALLET=WEIGHTS_RS...

The weight files are the ones `frame-omni-bencher` wrote from `scripts/weights/template.hbs`.
A function's cost is evaluated at the worst case of its components (the upper end of the range
the template records above it), with the database reads and writes priced as the runtime prices
them (`RocksDbWeight`: 25 us a read, 100 us a write). Hooks that take a count `n` are also shown
per item (the slope). Why a call is above the 2x goal is kept, per function, in
`scripts/weights/notes.tsv` (`pallet<TAB>function<TAB>why`), so a re-run keeps the explanations.
"""
import re
import sys
from pathlib import Path

READ_PS = 25_000 * 1_000  # RocksDbWeight read, in picoseconds of ref_time
WRITE_PS = 100_000 * 1_000  # RocksDbWeight write
GOAL = 2.0
# Hooks (`on_*`) and the registry's sweep: charged to the block; judged per item, not in total.
def is_hook(name):
    return name.startswith("on_") or name == "sweep"


class Fn:
    def __init__(self, name, params, ranges):
        self.name = name
        self.params = params
        self.ranges = ranges
        self.base_ref = 0
        self.base_proof = 0
        self.slope_ref = {}
        self.slope_proof = {}
        self.reads = 0
        self.writes = 0
        self.slope_reads = {}
        self.slope_writes = {}

    def at(self, values):
        ref = self.base_ref + sum(self.slope_ref.get(c, 0) * v for c, v in values.items())
        proof = self.base_proof + sum(self.slope_proof.get(c, 0) * v for c, v in values.items())
        reads = self.reads + sum(self.slope_reads.get(c, 0) * v for c, v in values.items())
        writes = self.writes + sum(self.slope_writes.get(c, 0) * v for c, v in values.items())
        return ref, proof, reads, writes

    def worst(self):
        return self.at({c: self.ranges.get(c, (0, 0))[1] for c in self.params})

    def per_item(self, c):
        return (
            self.slope_ref.get(c, 0),
            self.slope_proof.get(c, 0),
            self.slope_reads.get(c, 0),
            self.slope_writes.get(c, 0),
        )


NUM = r"([0-9_]+)"


def num(s):
    return int(s.replace("_", ""))


def parse(path):
    """The functions of the `SubstrateWeight` impl of a generated weights.rs."""
    text = Path(path).read_text()
    start = text.find("impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T>")
    if start < 0:
        raise SystemExit(f"weights-report: no SubstrateWeight impl in {path}")
    body = text[start:]
    end = body.find("\n// For backwards compatibility")
    if end < 0:
        end = body.find("\nimpl WeightInfo for ()")
    body = body[: end if end > 0 else len(body)]
    fns = {}
    ranges = {}
    cur = None
    for line in body.splitlines():
        line = line.strip()
        m = re.match(r"/// Component `(\w+)` ranges over `\[" + NUM + r", " + NUM + r"\]`", line)
        if m:
            ranges[m.group(1)] = (num(m.group(2)), num(m.group(3)))
            continue
        m = re.match(r"fn (\w+)\(([^)]*)\) -> Weight", line)
        if m:
            params = [p.split(":")[0].strip() for p in m.group(2).split(",") if p.strip()]
            cur = Fn(m.group(1), params, ranges)
            fns[cur.name] = cur
            ranges = {}
            continue
        if cur is None:
            continue
        m = re.match(r"Weight::from_parts\(" + NUM + r", " + NUM + r"\)$", line)
        if m:
            cur.base_ref, cur.base_proof = num(m.group(1)), num(m.group(2))
            continue
        m = re.search(
            r"Weight::from_parts\(" + NUM + r", " + NUM + r"\)\.saturating_mul\((\w+)\.into\(\)\)",
            line,
        )
        if m:
            c = m.group(3)
            cur.slope_ref[c] = cur.slope_ref.get(c, 0) + num(m.group(1))
            cur.slope_proof[c] = cur.slope_proof.get(c, 0) + num(m.group(2))
            continue
        m = re.search(r"\.(reads|writes)\(\(" + NUM + r"_u64\)\.saturating_mul\((\w+)\.into\(\)\)\)", line)
        if m:
            d = cur.slope_reads if m.group(1) == "reads" else cur.slope_writes
            d[m.group(3)] = d.get(m.group(3), 0) + num(m.group(2))
            continue
        m = re.search(r"\.(reads|writes)\(" + NUM + r"_u64\)", line)
        if m:
            if m.group(1) == "reads":
                cur.reads += num(m.group(2))
            else:
                cur.writes += num(m.group(2))
    return fns


def total_ref(ref, reads, writes):
    return ref + reads * READ_PS + writes * WRITE_PS


def us(ps):
    return f"{ps / 1e6:,.1f}"


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    balances = parse(sys.argv[1])
    if "transfer_keep_alive" not in balances:
        raise SystemExit("weights-report: no transfer_keep_alive in the balances weights")
    out = Path(sys.argv[2])
    pallets = [a.split("=", 1) for a in sys.argv[3:]]
    notes = {}
    notes_file = Path(__file__).parent / "weights" / "notes.tsv"
    if notes_file.exists():
        for line in notes_file.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                p, f, why = line.split("\t", 2)
                notes[(p, f)] = why

    b_ref, b_proof, b_reads, b_writes = balances["transfer_keep_alive"].worst()
    b_total = total_ref(b_ref, b_reads, b_writes)
    lines = [
        "# Weights against the chain's own yardstick",
        "",
        "Written by `scripts/weights-report.py` from one `scripts/bench-weights.sh` run: every",
        "Kaisar pallet's calls and hooks and `pallet_balances::transfer_keep_alive` benchmarked in",
        "the same Wasm runtime on the same machine, so the ratios hold whatever the machine.",
        "Costs are the worst case of each function's components; database reads and writes are",
        "priced as the runtime prices them (`RocksDbWeight`: 25 us a read, 100 us a write).",
        "",
        f"Yardstick, `transfer_keep_alive`: {us(b_ref)} us execution, {b_reads} reads,",
        f"{b_writes} writes, **{us(b_total)} us ref_time in all**, {b_proof:,} bytes of proof.",
        "",
        f"Goal: every user-facing call at most {GOAL:g}x, hooks at most {GOAL:g}x per item. ",
        "`exec` is the execution time alone, `total` adds the database accesses.",
        "",
    ]
    over = []
    for pallet, path in pallets:
        fns = parse(path)
        lines += [
            f"## `{pallet}`",
            "",
            "| function | worst case | exec us | reads | writes | total us | proof bytes | total / transfer | proof / transfer | |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, f in fns.items():
            ref, proof, reads, writes = f.worst()
            tot = total_ref(ref, reads, writes)
            r_ref, r_proof = tot / b_total, proof / b_proof if b_proof else 0.0
            worst = ", ".join(f"{c}={f.ranges.get(c, (0, 0))[1]}" for c in f.params) or "-"
            hook = is_hook(name)
            flag = ""
            if not hook and (r_ref > GOAL or r_proof > GOAL):
                flag = "above goal"
                over.append((pallet, name, r_ref, r_proof))
            lines.append(
                f"| `{name}` | {worst} | {us(ref)} | {reads} | {writes} | {us(tot)} | {proof:,} "
                f"| {r_ref:.2f}x | {r_proof:.2f}x | {flag} |"
            )
            for c in f.params:
                s_ref, s_proof, s_reads, s_writes = f.per_item(c)
                s_tot = total_ref(s_ref, s_reads, s_writes)
                if s_tot == 0 and s_proof == 0:
                    continue
                pr, pp = s_tot / b_total, s_proof / b_proof if b_proof else 0.0
                pflag = ""
                if pr > GOAL or pp > GOAL:
                    pflag = "above goal"
                    over.append((pallet, f"{name} per {c}", pr, pp))
                lines.append(
                    f"| `{name}` per `{c}` | +1 | {us(s_ref)} | {s_reads} | {s_writes} | {us(s_tot)} "
                    f"| {s_proof:,} | {pr:.2f}x | {pp:.2f}x | {pflag} |"
                )
        lines.append("")
    lines += ["## Above the goal, and why", ""]
    if not over:
        lines.append("Nothing: every call and every hook item is within the goal.")
    for pallet, name, r_ref, r_proof in over:
        fn = name.split(" per ")[0]
        why = notes.get((pallet, name)) or notes.get((pallet, fn)) or "(no note yet)"
        lines.append(f"- `{pallet}::{name}` ({r_ref:.1f}x time, {r_proof:.1f}x proof): {why}")
    lines.append("")
    out.write_text("\n".join(lines))
    print(f"weights-report: wrote {out} ({len(over)} above the goal)")


if __name__ == "__main__":
    main()
