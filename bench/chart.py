"""bench/results/bench.png from bench.json: throughput side by side, and LibreOffice's memory
over the 1,000-document run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen here
import matplotlib.pyplot as plt

COLOURS = {"docrender": "#2a6f97", "LibreOffice floor": "#9aa5b1", "Carbone 3.8.2": "#e07a5f"}


def draw(result: dict[str, Any], path: Path) -> None:
    figure, (throughput, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    _throughput(throughput, result)
    _memory(memory, result)
    figure.suptitle(f"docrender bench ({result['machine']})", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _throughput(axes: Any, result: dict[str, Any]) -> None:
    rows = {
        "docrender": result.get("docrender", {}),
        "LibreOffice floor": {"100_reports": result.get("libreoffice_floor_100_reports")},
        "Carbone 3.8.2": result.get("carbone", {}),
    }
    workloads = (
        ("100_reports", "100 reports (3-11 pages)"),
        ("500_one_page", "500 one-page sheets"),
    )
    width = 0.26
    for offset, (label, sections) in enumerate(rows.items()):
        for position, (workload, _) in enumerate(workloads):
            measured = (sections or {}).get(workload)
            if not measured:
                continue
            x = position + (offset - 1) * width
            value = measured["documents_per_s"]
            axes.bar(x, value, width, color=COLOURS[label], label=label if position == 0 else None)
            axes.annotate(f"{value:g}", (x, value), ha="center", va="bottom", fontsize=8)
    axes.set_xticks(range(len(workloads)), [title for _, title in workloads])
    axes.set_ylabel("documents per second (higher is better)")
    axes.set_title("Throughput, 2 LibreOffice processes", fontsize=10)
    axes.legend(fontsize=8)


def _memory(axes: Any, result: dict[str, Any]) -> None:
    endurance = result.get("endurance")
    if not endurance:
        axes.set_axis_off()
        return
    rss = endurance["libreoffice_rss_mib"]
    seconds = [i * rss["interval_s"] for i in range(len(rss["series"]))]
    axes.plot(seconds, rss["series"], color=COLOURS["docrender"], linewidth=1)
    axes.set_xlabel("seconds into the 1,000-report job")
    axes.set_ylabel("LibreOffice resident memory, MiB")
    axes.set_title(
        f"Endurance: first 100 at {endurance['first_hundred_documents_per_s']}/s, "
        f"last 100 at {endurance['last_hundred_documents_per_s']}/s",
        fontsize=10,
    )
    axes.set_ylim(bottom=0)
