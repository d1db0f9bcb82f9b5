"""The dashboard (scripts/dashboard.sh): its reads of the tables, and the page in a real browser
(Debian's headless Chromium, driven through chromedriver) over an output folder that the job's
real streaming plan wrote. The page's figures are checked against values computed here in plain
Python from the simulator's readings."""
# Over 300 lines: the page's tests share one output folder the job wrote and one browser.

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SCRIPTS, configured, free_port
from dashboard.data import Tables, committed_files
from iotstream.schema import TABLES
from reference import physically_possible, zscore_bands
from streamrun import run_batches
from tables import table_rows
from times import iso, parse_iso

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
BATCHES, PER_BATCH = 4, 1500
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def test_only_committed_files_of_complete_batches_are_read_and_merged_batches_once(tmp_path):
    day = tmp_path / "batch_totals" / "date=2026-01-01"
    for batch_id in (0, 1, 2):
        _write(day / f"part-b{batch_id:012d}-000.parquet", [{"batch_id": batch_id, "messages": 1}])
    # Batches 0 and 1 merged, their files not yet removed (a compaction under way); a file being
    # written, and Spark's staging folder.
    _write(day / "part-c000000000000-000000000001.parquet",
           [{"batch_id": 0, "messages": 1}, {"batch_id": 1, "messages": 1}])
    _write(day / ".part-b000000000003-000.parquet.partial", [{"batch_id": 3, "messages": 1}])
    assert [Path(f).name for f in committed_files(tmp_path / "batch_totals")] == [
        "part-b000000000002-000.parquet", "part-c000000000000-000000000001.parquet"]
    # A range that crossed midnight: the next day's lone batch file of it was not merged.
    _write(tmp_path / "anomalies" / "date=2026-01-02" / "part-b000000000001-000.parquet",
           [{"batch_id": 1}])
    _write(tmp_path / "anomalies" / "date=2026-01-01" / "part-c000000000000-000000000001.parquet",
           [{"batch_id": 0}])
    assert [Path(f).parent.name for f in committed_files(tmp_path / "anomalies")] == [
        "date=2026-01-01", "date=2026-01-02"]

    rows = Tables(tmp_path).query("SELECT batch_id, messages, seconds, date FROM batch_totals "
                                  "ORDER BY batch_id")
    # `seconds` is not in these files: NULL, as for a table not written at all.
    assert [(r["batch_id"], r["messages"], r["seconds"], str(r["date"])) for r in rows] == [
        (0, 1, None, "2026-01-01"), (1, 1, None, "2026-01-01"), (2, 1, None, "2026-01-01")]
    assert Tables(tmp_path).query("SELECT count(*) AS n FROM anomalies") == [{"n": 2}]
    assert Tables(tmp_path).query("SELECT count(*) AS n FROM quarantine") == [{"n": 0}]
    # Batch 3 has written its anomalies but not yet its batch_totals row: not shown yet.
    _write(tmp_path / "anomalies" / "date=2026-01-01" / "part-b000000000002-000.parquet",
           [{"batch_id": 2, "guid": "a"}])
    _write(tmp_path / "anomalies" / "date=2026-01-01" / "part-b000000000003-000.parquet",
           [{"batch_id": 3, "guid": "b"}])
    assert Tables(tmp_path).query("SELECT batch_id, guid FROM anomalies ORDER BY batch_id") == [
        {"batch_id": 0, "guid": None}, {"batch_id": 1, "guid": None}, {"batch_id": 2, "guid": "a"}]


@pytest.fixture(scope="module")
def written(spark, tmp_path_factory) -> tuple[Path, list[list[dict]]]:
    """An output folder written by the job's streaming plan from 4 batches of simulator readings
    (anomalies, stuck and drifting sensors), and the readings of each batch."""
    from sparkdata import kafka_records

    lines = subprocess.run(
        [sys.executable, str(ROOT / "iotsimulator.py"), str(BATCHES * PER_BATCH), "--seed", "11",
         "--sensors", "120", "--event-interval", "0.1", "--anomaly-rate", "0.01",
         "--stuck-rate", "0.0005", "--drift-rate", "0.0005",
         "--start-time", iso(T0)],
        check=True, capture_output=True, text=True).stdout.splitlines()
    chunks = [lines[i:i + PER_BATCH] for i in range(0, len(lines), PER_BATCH)]
    out = tmp_path_factory.mktemp("dashboard") / "out"
    # Batches that run now, as a live job's: the sensor chart reads today's and yesterday's.
    now = datetime.now(UTC)
    # One record that is no JSON, in the first batch: read, quarantined, not a message.
    run_batches(spark, out, [kafka_records(spark, c + (["not json"] if i == 0 else []),
                                           first_offset=(PER_BATCH + 1) * i,
                                           batch_time=now + timedelta(seconds=3 * i))
                             for i, c in enumerate(chunks)])
    return out, [[json.loads(line) for line in c] for c in chunks]


@pytest.fixture
def browser(tmp_path):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} is missing: ./scripts/test.sh installs Debian's "
                    "chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1400,1500"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(written, tmp_path):
    """scripts/dashboard.sh over the output folder, on a free port."""
    out, _ = written
    port = free_port()
    proc = subprocess.Popen([str(SCRIPTS / "dashboard.sh"), "--output-dir", str(out),
                             "--port", str(port), "--refresh-seconds", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"dashboard: http://localhost:{port}/"), line
        yield f"http://localhost:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_page_shows_the_tables_figures(written, served, browser):
    out, batches = written
    wait = _open(browser, served)
    tiles = _check_map(browser, batches)
    _check_timeline(browser, out, batches)
    state, found = _drill_down_to_a_zscore_finding(browser, wait, tiles, out, batches)
    _filter_by_detector(browser, wait, state, found)
    browser.save_screenshot(str(out.parent / "dashboard.png"))


def _open(browser, url: str):
    """Loads the page and waits until it shows the last batch; returns the wait to use after
    clicks (a panel is drawn anew when its data changes: look again then)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60, ignored_exceptions=[StaleElementReferenceException])
    browser.get(url)
    wait.until(lambda d: d.execute_script("return document.body.dataset.batch") == str(BATCHES - 1))
    return wait


def _check_map(browser, batches: list[list[dict]]) -> dict:
    """The map: 51 tiles, each state's average of possible readings in the last batch it had.
    Returns the tiles by state."""
    from selenium.webdriver.common.by import By

    latest: dict[str, list[float]] = {}
    for batch in batches:
        temps = defaultdict(list)
        for e in batch:
            if physically_possible(e["payload"]["data"]["temperature"]):
                temps[e["state"]].append(e["payload"]["data"]["temperature"])
        latest.update(temps)
    tiles = browser.find_elements(By.CSS_SELECTOR, "#map .tile")
    assert len(tiles) == 51
    shown = {t.get_attribute("data-state"): t for t in tiles}
    assert set(shown) >= set(latest)
    for state, temps in latest.items():
        avg = math.fsum(temps) / len(temps)
        drawn = float(shown[state].get_attribute("data-avg"))
        assert drawn == pytest.approx(avg, abs=1e-9)
        labels = [shown[state].find_element(By.CSS_SELECTOR, f".{c}").text for c in ("code", "value")]
        assert labels == [state, f"{drawn:.1f}"]  # (Spark's sum and fsum may round apart at x.x5)
    return shown


def _check_timeline(browser, out: Path, batches: list[list[dict]]) -> None:
    """The timeline: the ledger per batch, drawn (bars in the SVG), each batch's duration, the
    watermark after each batch; and the Messages card."""
    from selenium.webdriver.common.by import By

    js = browser.execute_script
    ledger = js("return document.getElementById('timeline-ledger').data"
                ".map(t => [t.name, t.x, t.y])")
    assert ledger[0] == ["accepted", list(range(BATCHES)), [len(b) for b in batches]]
    assert ledger[1] == ["quarantined", list(range(BATCHES)), [1] + [0] * (BATCHES - 1)]
    assert js("return document.querySelectorAll('#timeline-ledger .barlayer .point').length") >= BATCHES
    seconds = {t["batch_id"]: t["seconds"] for t in table_rows(out, "batch_totals")}
    duration = js("return document.getElementById('timeline-duration').data[0].y")
    assert duration == [seconds[i] for i in range(BATCHES)] and all(s > 0 for s in duration)
    # The watermark after each batch: its latest event time (to the millisecond) less the
    # configured delay.
    delay = timedelta(seconds=configured().watermark_seconds)
    latest_time = ""
    expected = []
    for b in batches:
        latest_time = max([latest_time] + [e["eventTime"] for e in b])
        at = parse_iso(latest_time) - delay
        expected.append(f"watermark {at:%Y-%m-%d %H:%M:%S}")
    assert js("return document.getElementById('timeline-watermark').data[0].text") == expected
    card = browser.find_element(By.CSS_SELECTOR, "[data-card='Messages']")
    assert card.find_element(By.CSS_SELECTOR, ".value").text == f"{BATCHES * PER_BATCH:,}"
    assert card.find_element(By.CSS_SELECTOR, ".note").text.endswith(
        f"{BATCHES * PER_BATCH + 1:,} records read")


def _drill_down_to_a_zscore_finding(browser, wait, tiles: dict, out: Path,
                                    batches: list[list[dict]]) -> tuple[str, list[dict]]:
    """A zscore finding on a sensor without a level shift: a click on its state narrows the
    feed and the windows to it, a click on the finding draws the sensor's chart (its readings,
    the zscore band and the flagged ones). Returns the state and every anomaly row."""
    from selenium.webdriver.common.by import By

    js = browser.execute_script
    found = table_rows(out, "anomalies")
    shifted = {a["guid"] for a in found if a["detector"] == "level_shift"}
    pick = sorted((a for a in found if a["detector"] == "zscore" and a["guid"] not in shifted),
                  key=lambda a: (a["state"], a["guid"]))[0]
    state, guid = pick["state"], pick["guid"]
    tiles[state].click()
    wait.until(lambda d: {r.find_elements(By.TAG_NAME, "td")[2].text for r in d.find_elements(
        By.CSS_SELECTOR, "#anomaly-feed tbody tr")} == {state})
    wait.until(lambda d: {r.get_attribute("data-state") for r in d.find_elements(
        By.CSS_SELECTOR, "#windows tbody tr")} == {state})
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#anomaly-feed tbody tr")
               if r.get_attribute("data-guid") == guid)
    row.click()
    wait.until(lambda d: guid in (js("return document.getElementById('sensor-chart').layout"
                                     "?.title?.text") or ""))
    chart = js("return document.getElementById('sensor-chart').data"
               ".map(t => [t.name, t.x, t.customdata || t.y])")  # a finding's value, off scale too
    readings = sorted((e["eventTime"], e["payload"]["data"]["temperature"], i)
                      for i, b in enumerate(batches) for e in b if e["guid"] == guid)
    temperatures = [t for _, t, _ in readings]
    assert chart[2][0] == "readings" and chart[2][2] == temperatures
    # The band each reading's row got as it came (the history the rules had judged by then).
    bands = zscore_bands(temperatures, [i for _, _, i in readings])
    assert chart[1][2] == pytest.approx([b[1] for b in bands if b is not None], abs=1e-9)
    assert chart[0][2] == pytest.approx([b[0] for b in bands if b is not None], abs=1e-9)
    flagged = sorted(a["temperature"] for a in found if a["guid"] == guid)  # one per finding
    assert chart[3][0] == "flagged" and sorted(chart[3][2]) == flagged
    assert pick["temperature"] in chart[3][2]
    return state, found


def _filter_by_detector(browser, wait, state: str, found: list[dict]) -> None:
    """Filtered by detector: only zscore findings in the feed, the chip counting the state's."""
    from selenium.webdriver.common.by import By

    chip = browser.find_element(By.CSS_SELECTOR, "#detector-counts [data-detector='zscore']")
    assert chip.text == f"zscore {sum(a['detector'] == 'zscore' and a['state'] == state for a in found)}"
    chip.click()
    wait.until(lambda d: {r.find_elements(By.TAG_NAME, "td")[5].text for r in d.find_elements(
        By.CSS_SELECTOR, "#anomaly-feed tbody tr")} == {"zscore"})


def test_dashboard_refuses_a_missing_folder_and_a_busy_port(tmp_path):
    missing = subprocess.run([str(SCRIPTS / "dashboard.sh"), "--output-dir",
                              str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (f"dashboard: error: {tmp_path / 'nope'} is no folder; pass "
                                      "the job's --output-dir (the demo's is output/demo)")
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = subprocess.run([str(SCRIPTS / "dashboard.sh"), "--output-dir",
                                str(tmp_path), "--port", str(port)], capture_output=True, text=True)
    assert taken.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr and "pick another --port" in taken.stderr


def test_every_table_has_a_view(tmp_path):
    # The page names columns of every table; before the job wrote any, each is an empty view.
    for table, schema in TABLES.items():
        described = Tables(tmp_path).query(f"DESCRIBE {table}")
        assert [r["column_name"] for r in described] == schema.fieldNames() + ["date"]
        assert Tables(tmp_path).query(f"SELECT * FROM {table}") == []


def test_the_windows_panel_shows_each_window_s_latest_revision(tmp_path):
    from dashboard import figures

    day = tmp_path / "window_stats" / "date=2026-01-01"
    start = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    row = {"window_start": start, "window_end": start + timedelta(minutes=1), "state": "CA",
           "avg_temperature": 60.0, "min_temperature": 59.0, "max_temperature": 61.0,
           "stddev_temperature": 1.0, "sensors": 2, "readings": 4}
    # Revision 0 (a file written before the column existed: no revision), then two restatements.
    _write(day / "part-b000000000000-000.parquet", [{"batch_id": 0, **row, "messages": 4}])
    for batch_id, revision, messages in ((1, 1, 5), (2, 2, 7)):
        _write(day / f"part-b{batch_id:012d}-000.parquet",
               [{"batch_id": batch_id, **row, "messages": messages, "revision": revision}])
    for batch_id in (0, 1, 2):
        _write(tmp_path / "batch_totals" / "date=2026-01-01" / f"part-b{batch_id:012d}-000.parquet",
               [{"batch_id": batch_id}])
    # One row per window, whatever the number of revisions asked for.
    shown = figures.windows(Tables(tmp_path), None, per_state=3)
    assert [(w["state"], w["messages"], w["revision"], w["batch_id"]) for w in shown] == [
        ("CA", 7, 2, 2)]
    # As the page saw it after batch 1.
    assert [(w["messages"], w["revision"]) for w in figures.windows(Tables(tmp_path), None, upto=1)
            ] == [(5, 1)]
