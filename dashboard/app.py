"""The dashboard's web app: one page (static/), and its panels as JSON under /api/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from flask import Flask, abort, jsonify, request, send_file, send_from_directory

from dashboard import figures
from dashboard.data import Tables

STATIC = Path(__file__).parent / "static"
# plotly.js, as the `plotly` package ships it: the page needs no network.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(output_dir: Path, trigger_seconds: float, refresh_seconds: float) -> Flask:
    """The app over the tables under `output_dir`, for a job on a `trigger_seconds` trigger; the
    page reloads its panels every `refresh_seconds`."""
    app = Flask(__name__, static_folder=None)
    tables = Tables(output_dir)

    def arg(name: str) -> str | None:
        return request.args.get(name) or None

    def count(name: str, default: int, most: int) -> int:
        """?name=N, kept within 1..most (a bad value gets the default)."""
        return max(1, min(request.args.get(name, default, type=int), most))

    def upto() -> int | None:
        """?batch=N: batches up to N only (one refresh of the page shows the same batches)."""
        return request.args.get("batch", None, type=int)

    @app.get("/")
    def index() -> Any:
        return send_from_directory(STATIC, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Any:
        return send_from_directory(STATIC, name)

    @app.get("/vendor/plotly.min.js")
    def plotly_js() -> Any:
        return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400)

    @app.get("/api/config")
    def config() -> Any:
        return jsonify(output_dir=str(output_dir), trigger_seconds=trigger_seconds,
                       refresh_seconds=refresh_seconds)

    @app.get("/api/overview")
    def overview() -> Any:
        return jsonify(figures.overview(tables, upto()))

    @app.get("/api/states")
    def states() -> Any:
        return jsonify(figures.states(tables, upto()))

    @app.get("/api/timeline")
    def timeline() -> Any:
        return jsonify(figures.timeline(tables, count("batches", 200, 5000), upto()))

    @app.get("/api/anomalies")
    def anomalies() -> Any:
        return jsonify(figures.anomalies(tables, arg("state"), arg("detector"),
                                         count("limit", 100, 1000), upto()))

    @app.get("/api/sensors")
    def sensors() -> Any:
        return jsonify(figures.sensors(tables, arg("state"), upto=upto()))

    @app.get("/api/sensor")
    def sensor() -> Any:
        guid = arg("guid")
        if guid is None:
            abort(400, "guid is required")
        return jsonify(figures.sensor(tables, guid, upto=upto()))

    @app.get("/api/windows")
    def windows() -> Any:
        state = arg("state")
        return jsonify(figures.windows(tables, state, per_state=10 if state else 1, upto=upto()))

    return app
