"""Load test: simulated phones send event batches to the app under gunicorn on loopback.

Usage: python -m benchmarks.load [--devices 50] [--seconds 60] [--batch 10]
Prints throughput, p50/p99 latency and errors. Traffic goes only to 127.0.0.1.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime

from tests.live_client import ROOT, LiveClient, flask, free_port

PASSWORD = "load test passphrase 2026"


def start_gunicorn(env: dict, port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", "4", "--worker-class", "gthread",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = LiveClient(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            client.opener.open(f"{client.base}/login", timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def device(base: str, username: str, stop: float, batch: int, interval: float, latencies: list, errors: list,
           events: list) -> None:
    """One phone: sign in, start a run, send a batch every `interval` seconds until the time is up."""
    client = LiveClient(base)
    try:
        # 50 sign-ins at once are a stampede of deliberately slow password hashes: one retry, then an error.
        for attempt in (1, 2):
            try:
                client.login(username, PASSWORD)
                break
            except OSError:
                if attempt == 2:
                    raise
        run_id = str(uuid.uuid4())
        client.call("PUT", f"/api/v1/runs/{run_id}", {"protocol_id": "immigration-separation",
                                                      "protocol_version": "1.0.0", "label": "OP-LOAD-001"})
    except OSError as error:  # a device that never got going is an error, not silence
        errors.append(f"{username} could not sign in and start a run: {error!r}")
        return
    n = 0
    next_send = time.monotonic()
    while time.monotonic() < stop:
        time.sleep(max(0.0, next_send - time.monotonic()))
        next_send += interval
        body = {"events": [{"id": str(uuid.uuid4()), "type": "note", "note": f"Load note {n + k}",
                            "at": datetime.now(UTC).isoformat()} for k in range(batch)]}
        n += batch
        started = time.perf_counter()
        try:
            status, reply = client.call("POST", f"/api/v1/runs/{run_id}/events", body, timeout=30)
        except OSError as error:
            errors.append(repr(error))
            continue
        latencies.append(time.perf_counter() - started)
        if status != 200 or len(reply.get("accepted", [])) != batch:
            errors.append(f"{status} {reply}")
        else:
            events.append(batch)


def run_load(devices: int, seconds: float, batch: int, workers: int, interval: float) -> dict:
    """Run the load test and return its figures."""
    with tempfile.TemporaryDirectory() as instance:
        env = {**os.environ, "DONOHARM_INSTANCE": instance, "DONOHARM_SECRET_KEY": "load-test-secret-key-" + "0" * 40}
        users = [f"device{i:02d}" for i in range(devices)]
        for name in users:
            flask(env, "users", "create", name, "--role", "accompanier", "--password-stdin", stdin=PASSWORD + "\n")
        port = free_port()
        server = start_gunicorn(env, port, workers)
        latencies: list[float] = []
        errors: list[str] = []
        events: list[int] = []
        try:
            stop = time.monotonic() + seconds
            threads = [threading.Thread(target=device, args=(f"http://127.0.0.1:{port}", name, stop, batch,
                                                             interval, latencies, errors, events)) for name in users]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"devices": devices, "seconds": round(elapsed, 1), "requests": len(latencies),
            "events_per_s": round(sum(events) / elapsed, 1), "requests_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(quantiles[49] * 1000, 1), "p99_ms": round(quantiles[98] * 1000, 1),
            "errors": len(errors), "first_error": errors[0] if errors else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between one device's batches (0: send as fast as possible, to saturate)")
    args = parser.parse_args()
    result = run_load(args.devices, args.seconds, args.batch, args.workers, args.interval)
    pace = f"a batch every {args.interval:g} s" if args.interval else "no pause (saturation)"
    print(f"Load test on {os.cpu_count()} cores, gunicorn {args.workers} workers x 4 threads, "
          f"{args.devices} devices, batches of {args.batch} events, {pace}, {result['seconds']} s")
    for key in ("requests", "requests_per_s", "events_per_s", "p50_ms", "p99_ms", "errors"):
        print(f"  {key:16} {result[key]}")
    if result["first_error"]:
        print(f"  first error: {result['first_error']}")
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
