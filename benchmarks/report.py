"""Render benchmarks/results/*.json as the Markdown tables of docs/benchmarks.md.

    .venv/bin/python benchmarks/report.py [NAME]

NAME: the classify results file to render (``benchmarks/results/NAME.json``; default
``classify``, what ``bench_classify.py`` writes without ``--name``).

Prints Markdown to stdout; paste it into docs/benchmarks.md, so that the numbers there are the
measured ones, unrounded by hand.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from _common import RESULTS, ROOT

MIB = 2**20


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _machine(m: dict[str, Any]) -> str:
    v = m["versions"]
    versions = ", ".join(f"{k} {v[k]}" for k in v)
    modified = ", ".join(m["engine_files_modified"]) or "none"
    return (
        f"measured {m['date']} on {m['nproc']} cores ({m['cpu_model']}), "
        f"{m['memory_gib']} GiB; {versions}; commit {m['git_commit']} "
        f"(uncommitted engine files: {modified})"
    )


#: bench_classify's entry paths (keys of its JSON) and their column titles, in table order.
_ENTRY_COLUMNS = (
    ("read_frame_workers1", "read_frame (default path)"),
    ("read_frame_default_workers", "read_frame, default workers"),
    ("read_csv_str_workers1", "pd.read_csv(dtype=str)"),
    ("read_csv_object_workers1", "pd.read_csv(dtype=object)"),
    ("records_object_workers1", "records, object"),
    ("categorical_workers1", "categoricals"),
    ("arrow_workers1", "Arrow strings"),
)


def classify_tables(data: dict[str, Any]) -> str:
    if "classify_frame_object_workers1" in data["scenarios"][0]:
        return _classify_tables_before_entry_paths(data)
    lines = [_machine(data["machine"]), ""]
    titles = " | ".join(f"{title} | ratio" for _, title in _ENTRY_COLUMNS)
    lines += [
        f"| scenario | exams (NT cells) | npm reference | {titles} |",
        "| --- | ---: | ---: |" + " ---: | ---: |" * len(_ENTRY_COLUMNS),
    ]
    for s in data["scenarios"]:
        ref = s["reference"]["exams_per_s"]
        cells = []
        for key, _ in _ENTRY_COLUMNS:
            t = s[f"classify_frame_{key}"]
            ratio = f"{t['x_reference']:.1f}x"
            cells.append(
                f"{t['exams_per_s']:,.0f}/s | "
                + (f"**{ratio}**" if key == "read_frame_workers1" else ratio)
            )
        lines.append(
            f"| {s['scenario']} | {s['exams']:,} ({s['nt_cell_share']:.1%}) | {ref:,.0f}/s | "
            + " | ".join(cells)
            + " |"
        )
    lines.append("")
    for s in data["scenarios"]:
        lines.append(
            f"* {s['scenario']}: {s['exams_with_nt']:,} of {s['exams']:,} exams hold an NT; "
            f"load average (1, 5, 15 min) {s['load_before']} before, {s['load_after']} after"
        )
        for key, stages in s.get("stages_per_100k_exams_s", {}).items():
            parts = "; ".join(f"{stage} {seconds:.3f} s" for stage, seconds in stages.items())
            lines.append(f"  * stages per 100,000 exams, {key}: {parts}")
    return "\n".join(lines)


def _classify_tables_before_entry_paths(data: dict[str, Any]) -> str:
    """The table of bench_classify's files from before it timed every entry path."""
    lines = [_machine(data["machine"]), ""]
    lines += [
        "| scenario | exams (NT cells) | npm reference | classify_frame, Arrow strings | "
        "ratio | classify_frame, object str | ratio | classify_frame, Arrow, workers=2 | ratio "
        "| scalar classify (subset, extrapolated) | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in data["scenarios"]:
        ref = s["reference"]["exams_per_s"]
        arrow = s["classify_frame_arrow_workers1"]
        obj = s["classify_frame_object_workers1"]
        two = s["classify_frame_arrow_workers2"]
        scalar = s["scalar_classify"]
        lines.append(
            f"| {s['scenario']} | {s['exams']:,} ({s['nt_cell_share']:.1%}) | {ref:,.0f}/s "
            f"| {arrow['exams_per_s']:,.0f}/s | **{arrow['x_reference']:.1f}x** "
            f"| {obj['exams_per_s']:,.0f}/s | {obj['x_reference']:.1f}x "
            f"| {two['exams_per_s']:,.0f}/s | {two['x_reference']:.1f}x "
            f"| {scalar['exams_per_s']:,.0f}/s (first {scalar['exams_timed']:,}) "
            f"| {scalar['exams_per_s'] / ref:.2f}x |"
        )
    lines.append("")
    for s in data["scenarios"]:
        lines.append(
            f"* {s['scenario']}: {s['exams_with_nt']:,} of {s['exams']:,} exams hold an NT; "
            f"load average (1, 5, 15 min) {s['load_before']} before, {s['load_after']} after"
        )
    return "\n".join(lines)


def registry_tables(data: dict[str, Any]) -> str:
    lines = [_machine(data["machine"]), ""]
    lines += [
        "| run | exams | wall seconds | exams/s | peak RSS | disk written |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    inp = data["input"]
    lines.append(f"| input Parquet file | {inp['rows']:,} | | | | {inp['bytes'] / MIB:,.0f} MiB |")
    for key in ("cli", "cli_dask"):
        if key not in data:
            continue
        c = data[key]
        time_v = (c["max_rss_time_v_bytes"] or 0) / MIB
        note = "all processes" if key == "cli_dask" else "polled"
        command = c["command"].replace(str(ROOT) + "/", "").replace("/tmp/cordtrial-bench/", "")
        lines.append(
            f"| `{command}` | {data['rows']:,} | {c['wall_seconds']:,.1f} "
            f"| {c['exams_per_s']:,.0f} | {c['peak_rss'] / MIB:,.0f} MiB {note} "
            f"(time -v, largest process: {time_v:,.0f} MiB) | {c['output_bytes'] / MIB:,.0f} MiB |"
        )
    if "dask" in data:
        d = data["dask"]
        lines.append(
            f"| Dask LocalCluster, {d['workers']} workers x 1 thread, `classify_parquet` "
            f"({d['partitions']} partitions) | {d['exams']:,} | {d['classify_seconds']:,.1f} "
            f"(+{d['cluster_start_seconds']:.1f} cluster start) | {d['exams_per_s']:,.0f} "
            f"| {d['peak_rss_polled_total_bytes'] / MIB:,.0f} MiB, all processes; "
            f"largest one {d['peak_rss_polled_process_bytes'] / MIB:,.0f} MiB "
            f"| {d['output_bytes'] / MIB:,.0f} MiB |"
        )
    lines.append("")
    lines.append(
        f"Disk used at the peak: {data['disk_bytes_used'] / 2**30:.2f} GiB (deleted after); "
        f"load average {data['load_start']} at the start, {data['load_end']} at the end."
    )
    return "\n".join(lines)


def simulation_tables(data: dict[str, Any]) -> str:
    lines = [_machine(data["machine"]), ""]
    lines += [
        "| design | simulated trials | numpy `simulate` | trials/s | Python loop (subset, "
        "extrapolated) | ratio | power / type I error |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in data["designs"]:
        v, loop = d["vectorized"], d["python_loop"]
        lines.append(
            f"| {d['design']} | {d['trials_simulated']:,} | {v['seconds']:.2f} s "
            f"| {v['trials_per_s']:,.0f} | {loop['extrapolated_seconds']:.1f} s "
            f"(timed on {loop['trials_timed']:,}) | **{d['speedup']:.0f}x** "
            f"| {d['power']:.3f} / {d['type_i_error']:.4f} |"
        )
    lines.append("")
    for d in data["designs"]:
        lines.append(
            f"* {d['design']}: load average (1, 5, 15 min) {d['load_before']} before, "
            f"{d['load_after']} after; Python loop on its subset: power {d['loop_power']:.3f}, "
            f"type I error {d['loop_type_i_error']:.4f}"
        )
    return "\n".join(lines)


def main() -> None:
    classify = _load(sys.argv[1] if len(sys.argv) > 1 else "classify")
    if classify:
        print("### classify_frame vs the npm reference\n")
        print(classify_tables(classify))
        print()
    registry = _load("registry")
    if registry:
        print("### 10 million exams from Parquet\n")
        print(registry_tables(registry))
    simulation = _load("simulation")
    if simulation:
        print("\n### Trial simulation: 100,000 trials per scenario\n")
        print(simulation_tables(simulation))


if __name__ == "__main__":
    main()
