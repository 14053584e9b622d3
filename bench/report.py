"""Write bench/RESULTS.md and the ratio chart from one run's results.

python report.py    # again from bench/out/results.json, without a new run
"""

import json
import textwrap
from pathlib import Path

# (workload, what is compared, contender to compare with, at least) from the targets
TARGETS = [
    ("single POST, JSON", "req/s", "baseline", 3.0),
    ("single POST, JSON", "req/s", "ceiling", 0.6),
    ("single POST, form", "req/s", "baseline", 3.0),
    ("single POST, form", "req/s", "ceiling", 0.6),
    ("batch POST of 1000", "readings/s", "ceiling", 0.5),
    ("GET /readings/?limit=1000", "req/s", "baseline", 5.0),
]
BATCH_FLOOR = 25_000  # readings/s


def ratio(workloads: dict, name: str, other: str) -> float | None:
    row = workloads.get(name, {})
    if "service" not in row or other not in row:
        return None
    return row["service"]["rps"] / row[other]["rps"]


def _fmt(value, digits=1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(results: dict) -> list[str]:
    lines = [
        "| workload | contender | req/s | readings/s | p50 ms | p99 ms | peak RSS MB | vs baseline | vs ceiling |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in results["workloads"].items():
        for contender, outcome in row.items():
            versus = [ratio(results["workloads"], name, other) if contender == "service" else None
                      for other in ("baseline", "ceiling")]  # fmt: skip
            lines.append(
                f"| {name} | {contender} | {_fmt(outcome['rps'])} | {_fmt(outcome['readings_per_s'], 0)} | "
                f"{_fmt(outcome['p50_ms'])} | {_fmt(outcome['p99_ms'])} | {_fmt(outcome['peak_rss_mb'])} | "
                f"{_fmt(versus[0], 2)}{'x' if versus[0] else ''} | {_fmt(versus[1], 2)}{'x' if versus[1] else ''} |"
            )
    return lines


def targets(results: dict) -> list[str]:
    workloads = results["workloads"]
    lines = ["| target | measured | met |", "| --- | ---: | :---: |"]
    for name, what, other, floor in TARGETS:
        value = ratio(workloads, name, other)
        met = "yes" if value is not None and value >= floor else ("not run" if value is None else "**no**")
        lines.append(f"| {name}: {what} at least {floor}x the {other} | {_fmt(value, 2)}x | {met} |")
    batch = workloads.get("batch POST of 1000", {}).get("service")
    if batch:
        met = "yes" if batch["readings_per_s"] >= BATCH_FLOOR else "**no**"
        lines.append(
            f"| batch POST: at least {BATCH_FLOOR:,} readings/s | {batch['readings_per_s']:,.0f} | {met} |"
        )
    serial = results.get("serialisation")
    if serial:
        met = "yes" if serial["speedup"] >= 10 else "**no**"
        lines.append(
            f"| serialising 10,000 readings: at least 10x json_util.dumps | {serial['speedup']:.1f}x "
            f"({serial['extjson_ms']:.1f} ms against {serial['json_util_ms']:.1f} ms) | {met} |"
        )
    export = workloads.get("export of 200k readings", {}).get("service")
    if export:
        met = "yes" if export["peak_growth_mb"] <= 50 else "**no**"
        lines.append(
            f"| export of 200k readings: peak memory growth at most 50 MB | {export['peak_growth_mb']:.1f} MB | {met} |"
        )
    return lines


def exports(results: dict, name: str = "export of 200k readings") -> list[str]:
    row = results["workloads"].get(name, {})
    lines = ["| contender | seconds | rows/s | first byte ms | MB sent | peak growth MB |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for contender, outcome in row.items():
        lines.append(
            f"| {contender} | {outcome['p50_ms'] / 1000:.2f} | {outcome['readings_per_s']:,.0f} | "
            f"{outcome['first_byte_ms']:,.0f} | {outcome['MB']:.1f} | {outcome['peak_growth_mb']:.1f} |"
        )
    return lines


def chart(results: dict, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["workloads"])
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.38
    for offset, other, colour in ((-width / 2, "baseline", "#4c72b0"), (width / 2, "ceiling", "#dd8452")):
        values = [ratio(results["workloads"], name, other) or 0 for name in names]
        bars = ax.bar(
            [i + offset for i in range(len(names))], values, width, label=f"service / {other}", color=colour
        )
        ax.bar_label(bars, labels=[f"{v:.2f}" if v else "" for v in values], fontsize=8)
    ax.axhline(1, color="grey", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%gx"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([0.25, 0.5, 1, 2, 4, 8])
    ax.set_ylabel("throughput ratio (log scale)")
    ax.set_xticks(range(len(names)), [textwrap.fill(n, 16) for n in names], fontsize=8)
    ax.set_title(
        f"Sensor readings service against the 2014 baseline and a bare-Flask ceiling ({results['store']} store)"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write(results: dict, markdown: Path, png: Path) -> None:
    chart(results, png)
    text = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run.py`); edit the notes at the end by hand, not the tables.",
        "",
        f"- Machine: {results['machine']}",
        f"- Store: {results['store']}; load generator: {results['load']}, {results['connections']} connections, "
        f"{results['seconds']} s per workload and contender; one gunicorn worker per contender, restarted for each",
        "",
        "![ratios](ratios.png)",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        "## All figures",
        "",
        *table(results),
        "",
        "## Export (one download each)",
        "",
        *exports(results),
        "",
        "## Stats (one request each)",
        "",
        *exports(results, "stats, 100k readings, 7 d by 1 h"),
        "",
    ]
    notes = markdown.with_name("NOTES.md")
    if notes.exists():
        text += [notes.read_text()]
    markdown.write_text("\n".join(text))


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    write(json.loads((here / "out" / "results.json").read_text()), here / "RESULTS.md", here / "ratios.png")
