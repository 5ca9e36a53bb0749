"""Write `report/index.html`: one section per claim of the essay, from stored experiment analyses.

Everything the page shows is copied beside it (figures, GIFs, pictures), so the folder works offline
and can be moved; nothing is fetched from the network. The page is rebuilt from `analysis.json`
files alone (`aptami report RUN...`), so it never recomputes an experiment.
"""
from __future__ import annotations

import html
import json
import shutil
import time
from pathlib import Path

from .claims import AGAINST, CLAIMS, INCONCLUSIVE, NOT_RUN, SUPPORTED, read

COLOURS = {SUPPORTED: "#2e7d32", AGAINST: "#c62828", INCONCLUSIVE: "#8d6e00", NOT_RUN: "#555"}

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:auto;padding:0 12px;color:#222;background:#fafafa}
h1{margin-bottom:0}.sub{color:#555;margin-top:4px}
section{border-top:1px solid #ccc;padding:10px 0}
.verdict{display:inline-block;color:#fff;border-radius:4px;padding:2px 8px;font-weight:bold;font-size:13px}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.row img{max-width:520px;border:1px solid #ddd;background:#fff}
img.gif{image-rendering:pixelated;width:360px}
.meta{color:#555;font-size:13px}.summary{font-size:14px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
"""


def load_analyses(paths) -> dict[str, dict]:
    """analysis.json files found under each path (a results-store root, an experiment folder, or a file)."""
    found = {}
    for p in map(Path, paths):
        if p.is_file():
            files = [p]
        elif (p / "analysis.json").exists():
            files = [p / "analysis.json"]
        else:
            files = sorted(p.glob("experiments/*/analysis.json"))
        if not files:
            raise FileNotFoundError(f"no experiment analyses (analysis.json) under {p}: run `aptami experiment "
                                    "NAME` or `aptami demo` first")
        for f in files:
            a = json.loads(f.read_text())
            found[a["experiment"]] = a
    return found


def _copy(src, assets: Path, name: str) -> str | None:
    """Copy a file into the report's assets; its relative path, or None when it is missing."""
    if not src or not Path(src).exists():
        return None
    dst = assets / name
    shutil.copyfile(src, dst)
    return f"assets/{name}"


def write_report(analyses: dict[str, dict], out="report", extra_sections: str = "", seconds: float | None = None
                 ) -> Path:
    out = Path(out)
    assets = out / "assets"
    if assets.exists():
        shutil.rmtree(assets)
    assets.mkdir(parents=True)
    rows, table, told, first = [], [], set(), {}
    for claim in CLAIMS:
        r = read(claim, analyses)
        colour = COLOURS.get(r["verdict"], "#555")
        media = []
        for kind, cls in (("figure", ""), ("extra_figure", ""), ("picture", ""), ("gif", "gif")):
            ext = Path(r[kind]).suffix if r.get(kind) else ""
            rel = _copy(r.get(kind), assets, f"{claim.id}-{kind}{ext}")
            if rel:
                alt = f"{claim.id} {kind.replace('_', ' ')}"
                media.append(f"<img class='{cls}' src='{rel}' alt='{html.escape(alt)}'>")
        scale = (f"scale: {r['scale']}, {r['seeds']} seeds per condition" if r.get("scale") else "")
        rows.append(
            f"<section id='{claim.id}'><h2>{claim.id}. {html.escape(claim.text)}</h2>"
            f"<p><span class='verdict' style='background:{colour}'>{html.escape(r['verdict'])}</span> "
            f"<b>{html.escape(r['headline'])}</b></p>"
            f"<p class='meta'>experiment: <code>{html.escape(claim.experiment or '—')}</code> · control: "
            f"{html.escape(claim.control)}{' · ' + html.escape(scale) if scale else ''}"
            f"{' · ' + html.escape(r['note']) if r.get('note') else ''}</p>"
            f"<div class='row'>{''.join(media)}</div>"
            + (f"<p class='summary'>{html.escape(r['summary'])}</p>" if r.get("summary") and claim.experiment
               not in told else f"<p class='summary'>(the experiment's summary is under {first[claim.experiment]})</p>"
               if r.get("summary") else "") + "</section>")
        if r.get("summary") and claim.experiment not in told:
            told.add(claim.experiment)
            first[claim.experiment] = claim.id
        table.append(f"<tr><td><a href='#{claim.id}'>{claim.id}</a></td><td>{html.escape(claim.text)}</td>"
                     f"<td style='color:{colour}'><b>{html.escape(r['verdict'])}</b></td></tr>")
    when = time.strftime("%Y-%m-%d %H:%M")
    took = f", in {seconds:.0f} s" if seconds else ""
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>aptami report</title>"
        f"<style>{STYLE}</style></head><body><h1>aptami: the essay's claims, measured</h1>"
        f"<p class='sub'>Generated {when}{took}. Each verdict is computed from the measured intervals (95% "
        "bootstrap over seeds): <i>supported</i> when the interval lies where the claim predicts, <i>not "
        "supported</i> when it lies on the other side or nothing was observed, <i>inconclusive at this scale</i> "
        "otherwise. The demo runs every experiment small (few seeds and steps) on the same code path as the "
        "full runs: read its verdicts as a smoke test of the pipeline, not as findings.</p>"
        f"<table><tr><th>claim</th><th>paraphrase</th><th>verdict</th></tr>{''.join(table)}</table>"
        + "".join(rows) + extra_sections + "</body></html>")
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(page)
    (out / "report.json").write_text(json.dumps(
        {c.id: {k: v for k, v in read(c, analyses).items() if k in ("headline", "verdict", "note", "scale", "seeds")}
         for c in CLAIMS}, indent=1))
    return out / "index.html"


def house_section(results: list[dict], out: Path) -> str:
    """The house itself: one random-policy GIF per scenario (already written into out/gifs)."""
    cards = "".join(
        f"<figure style='display:inline-block;margin:4px'><img class='gif' src='gifs/{html.escape(r['scenario'])}.gif'"
        f" alt='{html.escape(r['scenario'])} episode' style='width:300px'><figcaption>{html.escape(r['scenario'])}"
        "</figcaption></figure>" for r in results)
    return ("<section id='house'><h2>The house</h2><p>One episode of a uniformly random policy per scenario: the "
            "house from above (left) and the robot's camera (right). Gold face = joy, skin = neutral, red = "
            f"distress; white dot = praise; mint dot = drip.</p>{cards}</section>")
