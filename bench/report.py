"""Write bench/RESULTS.md and its charts from the results of the runs.

python report.py    # again from bench/out/results.json, without a new run
"""

import json
import textwrap
from pathlib import Path

import dataset
import scale

# The relative workloads' targets, from the issues before 14: (workload, contender, at least).
RELATIVE_TARGETS = [
    ("single POST, JSON", "baseline", 3.0),
    ("single POST, JSON", "ceiling", 0.6),
    ("single POST, form", "baseline", 3.0),
    ("single POST, form", "ceiling", 0.6),
    ("batch POST of 1000", "ceiling", 0.5),
    ("GET /readings/?limit=1000", "baseline", 5.0),
]
# What issue 14 measured "this week" (InfluxDB; the service then, on mongomock).
ISSUE_14 = {
    "ingest": ("265k readings/s", "22k"),
    "newest 100": ("7.5 ms", "229 ms"),
    "latest of a sensor": ("2.3 ms", "453 ms"),
    "per-sensor count and last": ("61 ms", "≥ 25 s, then the worker is killed"),
    "one sensor's hourly buckets, 30 d": ("55 ms (723 buckets)", "2.9 s"),
    "one sensor's readings as CSV": ("27 ms", "854 ms"),
    "memory": ("35 MB", "160 MB"),
}
MODES = (("in_process", "in-process"), ("http", "HTTP"))


def _n(value, digits=1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size >= 1000 else str(size)


def _mark(ok: bool, text: str) -> str:
    return text if ok else f"**{text}**"


def _met(ok: bool | None) -> str:
    return "not run" if ok is None else ("met" if ok else "**missed**")


# --- scale ------------------------------------------------------------------


def _sizes(store: dict) -> list[int]:
    return sorted(int(size) for size in store if int(size) > 0)


def scale_ops(store: dict) -> list[str]:
    sizes = _sizes(store)
    head = " | ".join(f"{_size(s)} {label}" for s in sizes for _, label in MODES)
    lines = [
        f"| operation | target | {head} | |",
        "| --- | ---: |" + " ---: |" * (2 * len(sizes)) + " :---: |",
    ]
    for name, target in scale.TARGET_MS.items():
        cells, verdict = [], True
        for size in sizes:
            row = store[str(size)]["ops"].get(name, {})
            for mode, _ in MODES:
                if mode not in row:
                    cells.append("n/a")
                    continue
                ok = row[mode]["median_ms"] <= target and row[mode]["status"] == 200
                verdict &= ok
                cells.append(_mark(ok, f"{row[mode]['median_ms']:.2f}"))
        lines.append(f"| {name} | ≤ {target} ms | {' | '.join(cells)} | {_met(verdict)} |")
    return lines


def scale_detail(store: dict) -> list[str]:
    lines = ["| size | operation | store call | in-process median / p95 / cold | CPU | "
             "HTTP median / p95 / cold | worker CPU | bytes |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for size in sorted(int(s) for s in store):
        for name, row in store[str(size)]["ops"].items():
            cells = [_n(row["store"]["median_ms"], 3) if "store" in row else "n/a"]
            for mode, _ in MODES:
                r = row.get(mode)
                if r is None:
                    cells += ["n/a", "n/a"]
                    continue
                cells.append(f"{r['median_ms']:.2f} / {r['p95_ms']:.2f} / {r['cold_ms']:.1f}"
                             + ("" if r["status"] == 200 else f" ({r['status']})"))  # fmt: skip
                cells.append(_n(r.get("cpu_ms"), 2))
            bytes_ = row.get("http", row.get("in_process", {})).get("bytes", 0)
            lines.append(
                f"| {_size(size) if size else 'empty'} | {name} | {' | '.join(cells)} | {bytes_:,} |"
            )
    return lines


def scale_throughput(store: dict) -> list[str]:
    sizes = _sizes(store)
    head = " | ".join(f"{_size(s)} {label}" for s in sizes for _, label in MODES)
    lines = [
        f"| workload | target | {head} | |",
        "| --- | ---: |" + " ---: |" * (2 * len(sizes)) + " :---: |",
    ]
    for fmt in ("csv", "ndjson"):
        cells, verdict = [], True
        for size in sizes:
            for mode, _ in MODES:
                rate = store[str(size)]["export"][fmt][mode]["rows_per_s"]
                verdict &= rate >= scale.EXPORT_ROWS_PER_S
                cells.append(_mark(rate >= scale.EXPORT_ROWS_PER_S, f"{rate:,.0f}"))
        lines.append(f"| export of the whole store, {fmt.upper()}, rows/s | ≥ {scale.EXPORT_ROWS_PER_S:,} | "
                     f"{' | '.join(cells)} | {_met(verdict)} |")  # fmt: skip
    for fmt in ("csv", "ndjson"):
        cells, verdict = [], True
        for size in sizes:
            growth = store[str(size)]["export"][fmt]["http"]["growth_mb"]
            verdict &= growth <= scale.EXPORT_GROWTH_MB
            cells += ["", _mark(growth <= scale.EXPORT_GROWTH_MB, f"{growth:.1f}")]
        lines.append(f"| export, {fmt.upper()}: worker's peak growth, MB | ≤ {scale.EXPORT_GROWTH_MB} | "
                     f"{' | '.join(cells)} | {_met(verdict)} |")  # fmt: skip
    cells, verdict = [], True
    for size in sizes:
        for mode, _ in MODES:
            rate = store[str(size)]["ingest"][mode]["readings_per_s"]
            verdict &= rate >= scale.INGEST_READINGS_PER_S
            cells.append(_mark(rate >= scale.INGEST_READINGS_PER_S, f"{rate:,.0f}"))
    lines.append(f"| batch ingest, 1,000 a request, readings/s | ≥ {scale.INGEST_READINGS_PER_S:,} | "
                 f"{' | '.join(cells)} | {_met(verdict)} |")  # fmt: skip
    cells = []
    for size in sizes:
        cells += [f"{store[str(size)]['export']['store']['rows_per_s']:,.0f}", ""]
    lines.append(f"| (the store's export alone, in-process, rows/s) | | {' | '.join(cells)} | |")
    return lines


def scale_rates(store: dict) -> list[str]:
    """Export and ingest rates by wall-clock time and by the CPU time of whatever answered."""
    lines = ["| size | workload | in-process | by CPU | HTTP | by worker CPU |",
             "| ---: | --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for size in _sizes(store):
        r = store[str(size)]
        for label, key, rows in (("export CSV, rows/s", "rows_per_s", r["export"]["csv"]),
                                 ("export NDJSON, rows/s", "rows_per_s", r["export"]["ndjson"]),
                                 ("batch ingest, readings/s", "readings_per_s", r["ingest"])):  # fmt: skip
            cells = []
            for mode, _ in MODES:
                cells += [f"{rows[mode][key]:,.0f}", _n(rows[mode].get(f"cpu_{key}"), 0)]
            lines.append(f"| {_size(size)} | {label} | {' | '.join(cells)} |")
    return lines


def scale_memory(store: dict) -> list[str]:
    empty = store.get("0", {}).get("memory")
    lines = ["| size | seeding s | file MB | worker RSS at start | after reads | after exports | peak | "
             "after ingest | master + worker | after exports, over empty | |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"]  # fmt: skip
    for size in sorted(int(s) for s in store):
        r = store[str(size)]
        m = r["memory"]
        growth = m["after_exports_mb"] - empty["after_exports_mb"] if empty else None
        ok = None if growth is None or not size else growth <= scale.WORKER_GROWTH_MB
        lines.append(
            f"| {_size(size) if size else 'empty'} | {r['seed_s']:.1f} | {_n(r['file_mb'])} | {m['start_mb']:.1f} | "
            f"{m['after_reads_mb']:.1f} | {m['after_exports_mb']:.1f} | {m['peak_mb']:.1f} | "
            f"{m['after_ingest_mb']:.1f} | {m['total_after_exports_mb']:.1f} | "
            f"{'' if not size else _n(growth)} | {'' if not size else _met(ok)} |"
        )
    return lines


def scale_chart(kind: str, store: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = _sizes(store)
    fig, (cost, rate, memory) = plt.subplots(1, 3, figsize=(16, 5.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for colour, name in zip(colours, scale.TARGET_MS, strict=False):
        for mode, style in (("http", "-"), ("in_process", ":")):
            points = [(s, store[str(s)]["ops"][name][mode]["median_ms"]) for s in sizes
                      if mode in store[str(s)]["ops"].get(name, {})]  # fmt: skip
            if points:
                cost.plot(*zip(*points, strict=True), style, marker="o", color=colour,
                          label=name if mode == "http" else None)  # fmt: skip
    for target in sorted(set(scale.TARGET_MS.values())):
        cost.axhline(target, color="grey", linewidth=0.6, linestyle="--")
        cost.annotate(f"{target} ms", (sizes[0], target), fontsize=7, va="bottom", color="grey")
    cost.set(xscale="log", yscale="log", xlabel="readings in the store", ylabel="median ms (log)",
             title="Cost per operation (solid: HTTP, dotted: in-process;\ndashes: the targets)")  # fmt: skip
    cost.legend(fontsize=7)
    series = [("export CSV", lambda r, m: r["export"]["csv"][m]["rows_per_s"]),
              ("export NDJSON", lambda r, m: r["export"]["ndjson"][m]["rows_per_s"]),
              ("batch ingest", lambda r, m: r["ingest"][m]["readings_per_s"])]  # fmt: skip
    for colour, (label, value) in zip(colours, series, strict=False):
        for mode, style in (("http", "-"), ("in_process", ":")):
            rate.plot(sizes, [value(store[str(s)], mode) for s in sizes], style, marker="o", color=colour,
                      label=label if mode == "http" else None)  # fmt: skip
    for target, label in (
        (scale.EXPORT_ROWS_PER_S, "export target"),
        (scale.INGEST_READINGS_PER_S, "ingest target"),
    ):
        rate.axhline(target, color="grey", linewidth=0.8, linestyle="--")
        rate.annotate(label, (sizes[0], target), fontsize=7, va="bottom")
    rate.set(xscale="log", yscale="log", xlabel="readings in the store", ylabel="rows or readings per second (log)",
             title="Throughput (solid: HTTP, dotted: in-process)")  # fmt: skip
    rate.legend(fontsize=7)
    for label, key in (
        ("after reads", "after_reads_mb"),
        ("after exports", "after_exports_mb"),
        ("peak", "peak_mb"),
    ):
        memory.plot(sizes, [store[str(s)]["memory"][key] for s in sizes], marker="o", label=label)
    if "0" in store:
        empty = store["0"]["memory"]["after_exports_mb"]
        memory.axhline(empty, color="grey", linewidth=0.8, label="empty store, after exports")
        memory.axhline(empty + scale.WORKER_GROWTH_MB, color="red", linewidth=0.8, linestyle="--",
                       label=f"target: empty + {scale.WORKER_GROWTH_MB} MB")  # fmt: skip
    memory.set(xscale="log", xlabel="readings in the store", ylabel="MB", ylim=(0, None),
               title="gunicorn worker's resident memory")  # fmt: skip
    memory.legend(fontsize=7)
    fig.suptitle(f"Cost against store size: {kind} store, one gunicorn worker, one client")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _windows(part: dict) -> str:
    """What the stats window holds at each size."""
    sizes = sorted({int(size) for store in part["stores"].values() for size in store if int(size) > 0})
    window = (scale.UNTIL - scale.SINCE).total_seconds() / dataset.STEP_SECONDS
    return "; ".join(
        f"at {_size(size)} the store spans {size * dataset.STEP_SECONDS / 86400:.1f} days and the window "
        f"holds {round(min(size, window) / part['sensors']):,} of its readings"
        for size in sizes
    )


def scale_section(results: dict, folder: Path) -> list[str]:
    part = results.get("scale")
    if not part:
        return ["## Cost against store size", "", "Not run yet: `make bench BENCH_ARGS='--only scale'`.", ""]
    text = ["## Cost against store size", "", _provenance(part), ""]
    text += [
        f"Every store is filled directly with readings of {part['sensors']} sensors (one every 6 s "
        "from 2026-01-01, values 0.1 apart) before it serves; one gunicorn worker, threaded as deployed; one client, one "
        "request at a time (`bench/client.py`). Times are medians in ms (p95 and the first, cold call in "
        "the detail table); a target is met when the median is within it at every size, in-process "
        "and over HTTP. In-process is the WSGI app called directly, without a network; the store call "
        f"alone is in the detail table. The stats window is 30 days of sensor {scale.SENSOR}: "
        f"{_windows(part)}. Batch ingest: {part['ingest_batches']} batches of 1,000 posted one "
        "after another (after everything else, as it adds readings).",
        "",
    ]
    if "mongodb" not in part["stores"]:
        text += [
            "**MongoDB**: not measured. No MongoDB server can run on this machine; with `MONGO_URL` set, "
            "the same workload runs on that server too and adds its own tables here. (mongomock, the "
            "tests' stand-in, is not a store anyone deploys and is not measured as one.)",
            "",
        ]
    for kind, store in part["stores"].items():
        chart = folder / f"scale-{kind}.png"
        scale_chart(kind, store, chart)
        text += [f"### {kind}", "", f"![cost against store size, {kind}]({chart.name})", "",
                 "#### Operations (median ms)", "", *scale_ops(store), "",
                 "#### Export and ingest", "", *scale_throughput(store), "",
                 "#### Worker memory (MB) and seeding", "", *scale_memory(store), "",
                 "#### Detail: store call, in-process and HTTP (median / p95 / cold ms; CPU ms a request)", "",
                 *scale_detail(store), "",
                 "#### Detail: export and ingest by wall-clock and by CPU time", "",
                 *scale_rates(store), ""]  # fmt: skip
    return text


# --- InfluxDB -----------------------------------------------------------------


def influx_section(results: dict) -> list[str]:
    part = results.get("influx")
    text = ["## InfluxDB beside the service", ""]
    if not part:
        return [*text, "Not run yet: `make bench BENCH_ARGS='--only influx'`.", ""]
    ingest = part["ingest"]
    ratio = ingest["service"]["readings_per_s"] / ingest["influxdb"]["readings_per_s"]
    text += [
        _provenance(part),
        "",
        f"InfluxDB {part['influxdb']} (Debian's `influxdb` package), started by the benchmark with its "
        "own temporary config and data, loopback ports, usage reports off; the service under gunicorn "
        "(one worker, threaded as deployed) on an empty SQLite file. One client for both (`bench/client.py`: one "
        "connection, kept while the server keeps it, one request at a time). Both get the "
        f"same {part['readings']:,} readings (20 sensors, one every 6 s) in batches of {part['batch']:,}: "
        "line protocol to `/write`, JSON to `POST /readings/`, fully validated. Then the benchmark waits "
        f"for both to go idle ({part['settle_s']:.0f} s: InfluxDB compacts after writes) and times each "
        "query (InfluxQL over `/query`, the CSV one with `Accept: application/csv`).",
        "",
        "| | InfluxDB median / p95 | service median / p95 | rows (InfluxDB, service) | target | "
        "server CPU a request (InfluxDB, service) | issue 14 (InfluxDB, service then) |",
        "| --- | ---: | ---: | ---: | :---: | ---: | --- |",
        f"| ingest, readings/s | {ingest['influxdb']['readings_per_s']:,.0f} | "
        f"{ingest['service']['readings_per_s']:,.0f} ({ratio:.2f}x) | {part['readings']:,} each | "
        f"{_met(ratio >= 0.25)} (≥ 0.25x) | {_cpu_rate(ingest, part['readings'])} | "
        f"{ISSUE_14['ingest'][0]}; {ISSUE_14['ingest'][1]} |",
    ]
    for name, row in part["queries"].items():
        theirs, ours = row["influxdb"], row["service"]
        issue = ISSUE_14.get(name, ("", ""))
        text.append(
            f"| {name} | {theirs['median_ms']:.2f} / {theirs['p95_ms']:.2f} ms | "
            f"{ours['median_ms']:.2f} / {ours['p95_ms']:.2f} ms | {theirs['rows']:,}, {ours['rows']:,} | "
            f"{_met(ours['median_ms'] < theirs['median_ms'])} (beat it) | "
            f"{_n(theirs.get('cpu_ms'), 2)}, {_n(ours.get('cpu_ms'), 2)} ms | {issue[0]}; {issue[1]} |"
        )
    memory = part["memory_mb"]
    text += [
        f"| resident memory after all of it, MB | {memory['influxdb']:.1f} | {memory['service_worker']:.1f} "
        f"(worker; {memory['service_total']:.1f} with gunicorn's master) | | | | "
        f"{ISSUE_14['memory'][0]}; {ISSUE_14['memory'][1]} |",
        "",
        "The queries, each side:",
        "",
    ]
    for name, row in part["queries"].items():
        text.append(f"- {name}: `{row['influxql']}`; `GET {row['path']}`")
    return [*text, ""]


def _cpu_rate(ingest: dict, readings: int) -> str:
    if "cpu_s" not in ingest["influxdb"]:
        return "n/a"
    rates = [readings / max(ingest[side]["cpu_s"], 1e-9) for side in ("influxdb", "service")]
    return f"{rates[0]:,.0f}, {rates[1]:,.0f} readings per CPU second"


# --- relative workloads -----------------------------------------------------------


def ratio(workloads: dict, name: str, other: str) -> float | None:
    row = workloads.get(name, {})
    if "service" not in row or other not in row:
        return None
    return row["service"]["rps"] / row[other]["rps"]


def relative_targets(part: dict) -> list[str]:
    workloads = part["workloads"]
    comparable = part["baseline_store"] == part["store"]
    lines = ["| target | measured | |", "| --- | ---: | :---: |"]
    for name, other, floor in RELATIVE_TARGETS:
        value = ratio(workloads, name, other)
        if value is None:
            verdict = "not run"
        elif other == "baseline" and not comparable:
            verdict = f"not comparable: {part['baseline_store']} against {part['store']}"
        else:
            verdict = _met(value >= floor)
        lines.append(f"| {name}: at least {floor}x the {other} | {_n(value, 2)}x | {verdict} |")
    return lines


def relative_table(part: dict) -> list[str]:
    lines = ["| workload | contender | req/s | readings/s | p50 ms | p99 ms | peak RSS MB | vs baseline | vs ceiling |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for name, row in part["workloads"].items():
        for contender, outcome in row.items():
            versus = [ratio(part["workloads"], name, other) if contender == "service" else None
                      for other in ("baseline", "ceiling")]  # fmt: skip
            lines.append(
                f"| {name} | {contender} | {_n(outcome['rps'])} | {_n(outcome['readings_per_s'], 0)} | "
                f"{_n(outcome['p50_ms'])} | {_n(outcome['p99_ms'])} | {_n(outcome['peak_rss_mb'])} | "
                f"{_n(versus[0], 2)}{'x' if versus[0] else ''} | {_n(versus[1], 2)}{'x' if versus[1] else ''} |"
            )
    return lines


def relative_chart(part: dict, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(part["workloads"])
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.38
    for offset, other, colour in ((-width / 2, "baseline", "#4c72b0"), (width / 2, "ceiling", "#dd8452")):
        values = [ratio(part["workloads"], name, other) or 0 for name in names]
        bars = ax.bar([i + offset for i in range(len(names))], values, width, label=f"service / {other}",
                      color=colour)  # fmt: skip
        ax.bar_label(bars, labels=[f"{v:.2f}" if v else "" for v in values], fontsize=8)
    ax.axhline(1, color="grey", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%gx"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([0.25, 0.5, 1, 2, 4, 8])
    ax.set_ylabel("throughput ratio (log scale)")
    ax.set_xticks(range(len(names)), [textwrap.fill(n, 16) for n in names], fontsize=8)
    ax.set_title(f"Service against the 2014 baseline ({part['baseline_store']}) and the bare-Flask ceiling "
                 f"({part['store']})", fontsize=10)  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def relative_section(results: dict, folder: Path) -> list[str]:
    part = results.get("relative")
    text = ["## Against the 2014 baseline and the bare-Flask ceiling", ""]
    if not part:
        return [*text, "Not run yet: `make bench BENCH_ARGS='--only relative'`.", ""]
    relative_chart(part, folder / "ratios.png")
    text += [
        _provenance(part),
        "",
        f"Store: {part['store']} for the service and the ceiling (the same seeded file, a copy each); "
        f"{part['baseline_store']} for the baseline, which speaks only MongoDB's API"
        + (
            ". **The baseline's store differs from the service's**, so its ratios compare stores as "
            "well as code (see the notes below); the ceiling's do not."
            if part["baseline_store"] != part["store"]
            else "."
        ),
        f"Load: {part['load']}, {part['connections']} connections, {part['seconds']} s per workload and "
        "contender; one gunicorn worker per contender, restarted for each.",
        "",
        "![ratios](ratios.png)",
        "",
        *relative_targets(part),
        "",
        *relative_table(part),
        "",
    ]
    export = part["workloads"].get("export of 200k readings", {})
    if export:
        text += ["Export of 200k readings, one download each:", "",
                 "| contender | seconds | rows/s | first byte ms | MB sent | peak growth MB |",
                 "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for contender, o in export.items():
            text.append(f"| {contender} | {o['p50_ms'] / 1000:.2f} | {o['readings_per_s']:,.0f} | "
                        f"{o['first_byte_ms']:,.0f} | {o['MB']:.1f} | {o['peak_growth_mb']:.1f} |")  # fmt: skip
        text.append("")
    return text


def serialisation_section(results: dict) -> list[str]:
    serial = results.get("serialisation")
    if not serial:
        return []
    met = _met(serial["speedup"] >= 10)
    return ["## Serialisation", "", _provenance(serial), "",
            "| target | measured | |", "| --- | ---: | :---: |",
            f"| 10,000 readings to Extended JSON: at least 10x `json_util.dumps` | {serial['speedup']:.1f}x "
            f"({serial['extjson_ms']:.1f} ms against {serial['json_util_ms']:.1f} ms) | {met} |", ""]  # fmt: skip


def _provenance(part: dict) -> str:
    when = part.get("when", "an earlier run")
    source = part.get("source", {})
    code = f"; code: {source['commit']}" + (" with uncommitted changes to the service" if source.get("dirty")
                                             else "") if source else ""  # fmt: skip
    load = part.get("load_average")
    busy = f"; load average {load[0]:.1f} before, {load[1]:.1f} after" if load else ""
    return f"Run {when} on {part.get('machine', 'this machine')}{code}{busy}."


def write(results: dict, folder: Path) -> None:
    text = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run.py`) from `bench/out/results.json`; the notes at the end "
        "come from `bench/NOTES.md`. Edit those, not the tables.",
        "",
        f"- Machine: {results['machine']}",
        "",
        *scale_section(results, folder),
        *influx_section(results),
        *relative_section(results, folder),
        *serialisation_section(results),
    ]
    notes = folder / "NOTES.md"
    if notes.exists():
        text += [notes.read_text()]
    (folder / "RESULTS.md").write_text("\n".join(text))


if __name__ == "__main__":
    import sys

    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here.parent)]
    write(json.loads((here / "out" / "results.json").read_text()), here)
