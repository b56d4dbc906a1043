"""How the sample documents lay out on this machine's LibreOffice, and how that differs from
another LibreOffice's: for checking an upgrade page by page.

    .venv/bin/python bench/layout.py render DIR      # the samples' PDFs, as a worker makes them
    .venv/bin/python bench/layout.py compare OLD NEW # pages, line breaks, identical pages

``render`` fills each sample template with its sample data as a worker does (Chinese forms
settled, character grid fitted) and converts it alone through unoserver, as the worker runs
it. ``compare`` reads both folders' PDFs: page counts, the lines of text that changed (a line
break moved), and the pages that look the same at 50 dpi (under 0.5 % of their pixels differ by
more than a quarter of the grey scale: antialiasing moves by a fraction of a pixel); it writes
bench/results/layout.json and prints it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import as_converted, bare_converter  # noqa: E402

from docrender.settings import Settings  # noqa: E402
from workers.convert.libreoffice import libreoffice_version  # noqa: E402

TEMPLATES = ROOT / "templates"


def samples() -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Each sample document by name: its template and its data."""
    report = (TEMPLATES / "report.docx").read_bytes()
    summary = (TEMPLATES / "unit-summary.docx").read_bytes()
    gongwen = (TEMPLATES / "gongwen.docx").read_bytes()
    reports = json.loads((TEMPLATES / "report-job.json").read_text())["documents"]
    units = json.loads((TEMPLATES / "units.json").read_text())
    notice = json.loads((TEMPLATES / "gongwen-job.json").read_text())["documents"][0]["data"]
    out = {f"report-{i + 1}": (report, doc["data"]) for i, doc in enumerate(reports)}
    out |= {f"unit-summary-{i + 1}": (summary, data) for i, data in enumerate(units)}
    out["gongwen"] = (gongwen, notice)
    return out


def render(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with bare_converter(Settings.from_env()) as converter:
        for name, (template, data) in samples().items():
            (folder / f"{name}.pdf").write_bytes(
                converter.convert(as_converted(template, data), "pdf")
            )
    version = libreoffice_version(Settings.from_env().soffice_executable)
    (folder / "libreoffice.txt").write_text(version + "\n")
    print(f"{len(samples())} samples rendered with LibreOffice {version} into {folder}")


def _lines(pdf: Path) -> list[list[str]]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [
        [line.strip() for line in page.splitlines() if line.strip()] for page in text.split("\f")
    ]


def _pages(pdf: Path, folder: Path) -> list[Image.Image]:
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(folder / "p")], check=True)
    images = [Image.open(path).convert("L") for path in sorted(folder.glob("p-*.png"))]
    for path in folder.glob("p-*.png"):
        path.unlink()
    return images


SAME_PAGE = 0.005


def _differing_share(a: Image.Image, b: Image.Image) -> float:
    differing = ImageChops.difference(a, b).point(lambda value: 255 if value > 64 else 0)
    return sum(differing.histogram()[255:]) / (a.width * a.height)


def compare(old: Path, new: Path) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    totals = {"lines": 0, "changed_lines": 0, "pages_old": 0, "pages_new": 0, "look_the_same": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for before in sorted(old.glob("*.pdf")):
            after = new / before.name
            old_lines, new_lines = _lines(before), _lines(after)
            flat_old = [line for page in old_lines for line in page]
            flat_new = set(line for page in new_lines for line in page)
            changed = sum(1 for line in flat_old if line not in flat_new)
            old_pages, new_pages = _pages(before, Path(tmp)), _pages(after, Path(tmp))
            same = [
                number
                for number, (a, b) in enumerate(zip(old_pages, new_pages, strict=False), start=1)
                if a.size == b.size and _differing_share(a, b) < SAME_PAGE
            ]
            documents[before.stem] = {
                "pages": [len(old_pages), len(new_pages)],
                "lines": len(flat_old),
                "changed_lines": changed,
                "pages_that_look_the_same": same,
            }
            totals["lines"] += len(flat_old)
            totals["changed_lines"] += changed
            totals["pages_old"] += len(old_pages)
            totals["pages_new"] += len(new_pages)
            totals["look_the_same"] += len(same)
    return {
        "libreoffice": [(folder / "libreoffice.txt").read_text().strip() for folder in (old, new)],
        "totals": totals,
        "changed_line_share": round(totals["changed_lines"] / max(totals["lines"], 1), 3),
        "documents": documents,
    }


def main() -> None:
    command, *folders = sys.argv[1:]
    if command == "render":
        render(Path(folders[0]))
    elif command == "compare":
        result = compare(Path(folders[0]), Path(folders[1]))
        out = ROOT / "bench" / "results" / "layout.json"
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
