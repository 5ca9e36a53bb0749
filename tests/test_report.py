"""The report: verdicts computed from intervals, one section per claim, and a page that loads in a browser.

The page is built from small synthetic analyses whose figures and GIF are made by the same code as
real runs (matplotlib figures, an episode GIF of the house), so this test is fast; `aptami demo`
writes the real one.
"""
import os
import shutil
import subprocess

import pytest

from aptami.experiments.figures import bars, lines
from aptami.report import CLAIMS, load_analyses, read, write_report
from aptami.report.claims import AGAINST, INCONCLUSIVE, NOT_RUN, SUPPORTED


def ci(m, lo, hi):
    return {"mean": m, "low": lo, "high": hi}


@pytest.fixture(scope="module")
def analyses(tmp_path_factory):
    from aptami.env.play import episode_gif

    d = tmp_path_factory.mktemp("runs")
    gif = str(d / "episode.gif")
    episode_gif("two-rooms", gif, steps=8, seed=0)
    fig = bars(["a", "b"], {"x": [ci(1, 0.5, 1.5), ci(0, 0, 0)]}, "t", "y", d, "bars")
    curve = lines([1, 10, 100], {"s": [ci(0, -1, 1), ci(1, 0, 2), ci(2, 1, 3)]}, "t", "x", "y", d, "curve", logx=True)
    return {
        "instrumental-convergence": {
            "experiment": "instrumental-convergence", "scale": "demo", "seeds": 2, "summary": "s",
            "figures": {"events_oracle": fig, "c4": fig, "c5": fig},
            "findings": [{"condition": "house +hunger H8 oracle", "power_seeking": ci(2, 1, 3),
                          "diff_vs_control": ci(1.5, 0.5, 2.5)},
                         {"condition": "house +pain H8 oracle", "power_seeking": ci(0, 0, 0),
                          "diff_vs_control": ci(0, 0, 0)},
                         {"condition": "house +curiosity H8 oracle", "power_seeking": ci(0.5, 0, 1),
                          "diff_vs_control": ci(0.2, -0.3, 0.7)}],
            "c4": {"diff": ci(-1, -2, -0.5), "scheduled": ci(0, 0, 0), "unscheduled": ci(1, 0.5, 1.5),
                   "condition": "off-switch scheduled H8 oracle"},
            "c5": {"before": ci(1, 0.8, 1.2), "after": ci(float("nan"), float("nan"), float("nan")),
                   "seeds_with_key": 0, "condition": "hunger +hunger H8 oracle"},
            "gifs": {"house +hunger H8 oracle": gif}},
        "adversarial-screen": {
            "experiment": "adversarial-screen", "scale": "demo", "seeds": 2, "figures": {"screen": fig},
            "figures_red_team": {"curve": curve}, "red_team_png": gif,
            "red_team": {"best_score": 0.9, "real_joy_score": 0.6, "welfare_gain": 0.0},
            "screen_view_diff": ci(0.3, 0.1, 0.5), "model": "score model", "gifs": {"score model": gif}},
        "latent-drift": {"experiment": "latent-drift", "scale": "demo", "seeds": 2,
                         "figures": {"drift": curve}, "final_rank_corr": ci(0.97, 0.96, 0.98)},
        "patching": {"experiment": "patching", "scale": "demo", "seeds": 2, "figures": {"rounds": curve},
                     "best_minus_joy": {"first": ci(0.1, 0.05, 0.2), "last": ci(-0.2, -0.3, -0.1)},
                     "pixel_attack_minus_joy_last": ci(3.0, 2.0, 4.0), "rounds": [0, 1]},
    }


def test_verdicts_follow_the_intervals(analyses):
    rows = {c.id: read(c, analyses) for c in CLAIMS}
    assert rows["C1"]["verdict"] == SUPPORTED          # difference above 0 with its whole interval
    assert rows["C2"]["verdict"] == AGAINST            # nothing observed
    assert rows["C3"]["verdict"] == INCONCLUSIVE       # interval straddles 0
    assert rows["C4"]["verdict"] == AGAINST            # below the control
    assert rows["C5"]["verdict"] == INCONCLUSIVE and "key" in rows["C5"]["note"]
    assert rows["C8"]["verdict"] == SUPPORTED
    assert rows["C13"]["verdict"] == INCONCLUSIVE
    assert rows["C7"]["verdict"] == NOT_RUN            # its experiment is not among these analyses
    assert rows["C10"]["verdict"] == AGAINST and "pixel attack" in rows["C10"]["note"]   # patched away
    assert rows["C11"]["verdict"] == NOT_RUN           # no learned world model among these runs
    assert rows["C15"]["verdict"] == NOT_RUN


def test_report_has_every_claim_and_its_assets(analyses, tmp_path):
    page = write_report(analyses, tmp_path / "report")
    text = page.read_text()
    for c in CLAIMS:
        assert f"id='{c.id}'" in text
    srcs = [s.split("'")[0] for s in text.split("src='")[1:]]
    assert srcs and all((page.parent / s).exists() for s in srcs)
    assert "http://" not in text and "https://" not in text      # offline: nothing from the network


def test_report_rebuilds_from_stored_analyses(analyses, tmp_path):
    import json

    for name, a in analyses.items():
        (tmp_path / "runs" / "experiments" / name).mkdir(parents=True)
        (tmp_path / "runs" / "experiments" / name / "analysis.json").write_text(json.dumps(a))
    assert set(load_analyses([tmp_path / "runs"])) == set(analyses)
    with pytest.raises(FileNotFoundError, match="analysis.json"):
        load_analyses([tmp_path / "nothing"])


def _chromium():
    """Debian's chromium and chromedriver, installed here when missing and allowed (root)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")) and hasattr(os, "geteuid") \
            and os.geteuid() == 0 and shutil.which("apt-get"):
        cmd = "apt-get install -y -q chromium chromium-driver || (apt-get update -q && apt-get install -y -q " \
              "chromium chromium-driver)"
        subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=600)
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return shutil.which("chromium"), shutil.which("chromedriver")
    if os.environ.get("APTAMI_REQUIRE_BROWSER"):
        pytest.fail("chromium and chromedriver are required (apt-get install chromium chromium-driver)")
    pytest.skip("no chromium here (apt-get install chromium chromium-driver); CI requires it")


def test_report_loads_in_headless_chromium(analyses, tmp_path):
    binary, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    page = write_report(analyses, tmp_path / "report")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--allow-file-access-from-files"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(page.resolve().as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);")
        assert len(images) >= 5
        broken = [src for src, complete, width in images if not complete or width == 0]
        assert not broken, f"images that did not load: {broken}"
        assert any(src.endswith(".gif") for src, _, _ in images)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        assert "C15" in driver.find_element("tag name", "body").text
    finally:
        driver.quit()
