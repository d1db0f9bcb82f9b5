"""Serves the dashboard over a job's output folder.

    ./scripts/dashboard.sh [--output-dir DIR] [--port 8050] [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import faulthandler
import signal
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "jobs"))

from iotstream.config import ConfigError, load_config  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="dashboard.sh",
        description="A live dashboard over the streaming job's Parquet tables: US map of the "
        "latest per-state averages, batch timeline, anomalies, sensor drill-down, windows.",
        epilog="example: ./scripts/dashboard.sh --output-dir output/demo   (then open "
        "http://localhost:8050)",
    )
    p.add_argument("--output-dir", type=Path, default=Path("output"),
                   help="the job's --output-dir (default: output)")
    p.add_argument("--port", type=int, default=8050, help="HTTP port (default: 8050)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--config", type=Path, default=ROOT / "conf" / "job.toml",
                   help="the job's config file, for its trigger (default: conf/job.toml)")
    p.add_argument("--trigger-seconds", type=float,
                   help="the job's trigger, if it ran with --trigger-seconds (default: the config's)")
    p.add_argument("--refresh-seconds", type=float, default=3.0,
                   help="how often the page reloads its panels (default: 3)")
    return p.parse_args(argv)


def _problem(args: argparse.Namespace) -> str | None:
    if not args.output_dir.is_dir():
        return (f"{args.output_dir} is no folder; pass the job's --output-dir "
                "(the demo's is output/demo)")
    if not 0 < args.port < 65536:
        return f"--port must be 1-65535, not {args.port}"
    if args.refresh_seconds <= 0 or (args.trigger_seconds is not None and args.trigger_seconds <= 0):
        return "--refresh-seconds and --trigger-seconds must be > 0"
    with socket.socket() as s:
        try:
            s.bind((args.host, args.port))
        except OSError as e:
            return f"cannot listen on {args.host}:{args.port} ({e.strerror}); pick another --port"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = _problem(args)
    if problem is None and args.trigger_seconds is None:
        try:
            args.trigger_seconds = load_config(args.config).trigger_seconds
        except ConfigError as e:
            problem = str(e)
    if problem is not None:
        print(f"dashboard: error: {problem}", file=sys.stderr)
        return 2

    import waitress  # after the checks: an error comes at once

    from dashboard.app import create_app

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1: where each thread is
    app = create_app(args.output_dir.resolve(), args.trigger_seconds, args.refresh_seconds)
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    print(f"dashboard: http://{shown}:{args.port}/ over {args.output_dir} (Ctrl-C stops)",
          flush=True)
    waitress.serve(app, host=args.host, port=args.port, threads=4, _quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
