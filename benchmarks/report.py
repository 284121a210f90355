"""docs/benchmarks.md from the benchmarks' `--json` files: one current row per benchmark.

    python -m benchmarks.report [--results benchmarks/results] [--page docs/benchmarks.md]

`make bench` runs the benchmarks into `benchmarks/results/<name>.json` and then this.
A benchmark without its file is listed as not run. Each comparison's folder
(`results/transport/`, `results/session/`) holds same-session runs of several variants
of the code, one file per run named `<benchmark>-<variant>-r<round>.json`; each becomes
a table of its own. What each benchmark reports is in `benchmarks/figures.py`.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from benchmarks.figures import BENCHMARKS, COMPARISONS, Comparison

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "benchmarks.md"

RUN_NAME = re.compile(r"^(?P<bench>.+)-(?P<variant>[a-z]+)-r(?P<round>\d+)$")


def load(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def machine_of(document: dict[str, Any]) -> str:
    run = document.get("run")
    if isinstance(run, dict) and run.get("cpu"):
        return f"{run['cpu']}, {run['cores']} cores, Python {run['python']}"
    return str(document.get("machine", "machine not recorded"))


def date_of(document: dict[str, Any]) -> str:
    run = document.get("run")
    return str(run.get("date", "")) if isinstance(run, dict) else ""


def load_of(document: dict[str, Any]) -> str:
    run = document.get("run")
    loads = run.get("load_average") if isinstance(run, dict) else None
    return " / ".join(f"{x:.1f}" for x in loads) if loads else "?"


def current_table(results: Path) -> list[str]:
    lines = [
        "| benchmark | command | figures | run |",
        "|---|---|---|---|",
    ]
    for bench in BENCHMARKS:
        document = load(results / f"{bench.name}.json")
        if document is None:
            lines.append(f"| {bench.title} | `{bench.command}` | not run | |")
            continue
        shown = "; ".join(f"{f.label} {f.shown(f.value(document))}" for f in bench.figures)
        run = f"{date_of(document)}, {machine_of(document)}, load {load_of(document)}"
        lines.append(f"| {bench.title} | `{bench.command}` | {shown} | {run} |")
    return lines


def targets_list() -> list[str]:
    lines = []
    for bench in BENCHMARKS:
        targets = [f.target_text for f in bench.figures if f.target is not None]
        if targets:
            lines.append(f"- `{bench.name}`: " + ", ".join(targets))
    return lines


def compare_table(comparison: Comparison, folder: Path) -> list[str]:
    runs: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for path in sorted(folder.glob("*.json")):
        match = RUN_NAME.match(path.stem)
        document = load(path)
        if match is None or document is None:
            continue
        key = (match["bench"], match["variant"])
        runs.setdefault(key, []).append((int(match["round"]), document))
    if not runs:
        return []
    rounds = sorted({r for found in runs.values() for r, _ in found})
    header = ["benchmark", "figure (target)"]
    for variant in comparison.variants:
        header += [f"{variant} r{r}" for r in rounds]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for bench, figures in comparison.runs.items():
        for figure in figures:
            row = [f"`{comparison.commands[bench]}`", figure.target_text or figure.label]
            for variant in comparison.variants:
                by_round = dict(runs.get((bench, variant), []))
                for r in rounds:
                    document = by_round.get(r)
                    if document is None:
                        row.append("not run")
                    elif "failed" in document:
                        row.append(f"failed: {document['failed']}")
                    else:
                        began = load_of(document).split(" / ")[0]
                        row.append(f"{figure.shown(figure.value(document))} (load {began})")
            lines.append("| " + " | ".join(row) + " |")
    return lines


def page(results: Path) -> str:
    documents = [load(p) for p in sorted(results.glob("*.json"))]
    machines = sorted({machine_of(d) for d in documents if d is not None})
    out = [
        "# Benchmarks",
        "",
        "Produced by `python -m benchmarks.report` from the benchmarks' `--json` files in",
        "`benchmarks/results/` (`make bench` runs them all and writes this page). Everything",
        "runs against the loopback fakes with the real discord.py and httpx clients, the bot",
        "in its own process, so its CPU and RSS are its own. The machine is shared by several",
        "engineers: the load average beside each run says how far to trust it.",
        "",
        "Machine: " + ("; ".join(machines) if machines else "no run recorded yet") + ".",
        "",
        "## Current figures",
        "",
        *current_table(results),
        "",
        "Targets:",
        "",
        *targets_list(),
    ]
    for comparison in COMPARISONS:
        table = compare_table(comparison, results / comparison.folder)
        if not table:
            continue
        out += ["", f"## {comparison.heading}", "", comparison.intro, ""]
        out += [f"- **{name}**: {text}" for name, text in comparison.variants.items()]
        out += ["", *table]
        if comparison.note:
            out += ["", comparison.note]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    args.page.parent.mkdir(parents=True, exist_ok=True)
    args.page.write_text(page(args.results), encoding="utf-8")
    print(f"wrote {args.page}")
    return Path(args.page)


if __name__ == "__main__":
    main()
