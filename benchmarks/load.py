"""Load test: simulated phones send event batches to the app under gunicorn on loopback.

Usage: python -m benchmarks.load [--devices 500] [--seconds 60] [--batch 10] [--ramp]

Every phone signs in with its own account and starts a run first (a few at a time, as phones arrive over a
morning, not 500 password hashes at once); then each sends a batch of events every `--interval` seconds over one
kept-alive connection, as a browser does. Prints requests, throughput, p50/p99 latency and errors for the hold
at `--devices`, and with `--ramp` the same for a rising number of phones and the saturation point: the first
level at which p99 passes 250 ms, a batch fails, or the server falls behind the pace asked of it.
Traffic goes only to 127.0.0.1. The phones run in this process, on the same cores as the server.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from tests.live_client import ROOT, LiveClient, free_port, prepare

PASSWORD = "load test passphrase 2026"
P99_LIMIT_MS = 250
PROTOCOL = {"protocol_id": "immigration-separation", "protocol_version": "1.0.0"}


def start_gunicorn(env: dict, port: int, workers: int, threads: int = 4) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
         "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
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


def create_accounts(env: dict, count: int) -> list[str]:
    """`count` accompanier accounts on a prepared instance, one password hash shared (creating them one
    `flask users create` at a time would take minutes of deliberately slow hashing)."""
    prepare(env)
    names = [f"device{i:03d}" for i in range(count)]
    script = ("import sys, json\nfrom donoharm.accounts.auth import hash_password\nfrom donoharm.db import connect\n"
              "from donoharm.db import users\nnames, password = json.loads(sys.stdin.read())\n"
              "db = connect(sys.argv[1])\nhashed = hash_password(password)\n"
              "for name in names:\n    users.create_user(db, name, hashed, 'accompanier')\n")
    subprocess.run([sys.executable, "-c", script, os.path.join(env["DONOHARM_INSTANCE"], "donoharm.db")],
                   cwd=ROOT, env=env, input=json.dumps([names, PASSWORD]), text=True, check=True, timeout=120)
    return names


class Phone:
    """One signed-in phone with a run of its own, sending over one kept-alive connection."""

    def __init__(self, port: int, username: str):
        client = LiveClient(f"http://127.0.0.1:{port}")
        for attempt in (1, 2):  # one retry: a busy server may drop a sign-in
            try:
                client.login(username, PASSWORD)
                break
            except OSError:
                if attempt == 2:
                    raise
        self.run_id = str(uuid.uuid4())
        status, reply = client.call("PUT", f"/api/v1/runs/{self.run_id}", {**PROTOCOL, "label": "OP-LOAD-001"})
        if status not in (200, 201):
            raise OSError(f"{username} could not start a run: {status} {reply}")
        self.headers = {"Content-Type": "application/json", "X-CSRFToken": client.csrf,
                        "Cookie": self._cookies(client)}
        self.port = port
        self.connection: http.client.HTTPConnection | None = None
        self.sent = 0

    @staticmethod
    def _cookies(client: LiveClient) -> str:
        for handler in client.opener.handlers:
            if hasattr(handler, "cookiejar"):
                return "; ".join(f"{c.name}={c.value}" for c in handler.cookiejar)
        return ""

    def send(self, batch: int) -> tuple[int, dict]:
        body = json.dumps({"events": [{"id": str(uuid.uuid4()), "type": "note", "note": f"Load note {self.sent + k}",
                                       "at": datetime.now(UTC).isoformat()} for k in range(batch)]})
        self.sent += batch
        status, reply = self.request("POST", f"/api/v1/runs/{self.run_id}/events", body)
        return status, json.loads(reply or b"{}")

    def request(self, method: str, path: str, body: str) -> tuple[int, bytes]:
        """One request on the phone's kept-alive connection: its status and body."""
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile is opened again, once
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.connection.request(method, path, body, self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its children (gunicorn's master and its workers), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def hold(phones: list[Phone], seconds: float, batch: int, interval: float, server_pid: int | None = None) -> dict:
    """Every phone sends a batch every `interval` seconds for `seconds`; the figures of that period, with the CPU
    time the server and the phones used per request (what decides how many phones 2 cores can hold)."""
    latencies: list[float] = []
    errors: list[str] = []
    sent = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(phone: Phone, offset: float) -> None:
        next_send = time.monotonic() + offset  # phones spread over the interval, as real ones are
        while True:
            time.sleep(max(0.0, next_send - time.monotonic()))
            if time.monotonic() >= stop:
                return
            next_send += interval
            started = time.perf_counter()
            try:
                status, reply = phone.send(batch)
            except OSError as error:
                with lock:
                    errors.append(repr(error))
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status != 200 or len(reply.get("accepted", [])) != batch:
                    errors.append(f"{status} {str(reply)[:200]}")
                else:
                    sent[0] += batch

    threads = [threading.Thread(target=loop, args=(phone, interval * i / max(len(phones), 1)))
               for i, phone in enumerate(phones)]
    started = time.monotonic()
    server_cpu, phones_cpu = tree_cpu_seconds(server_pid) if server_pid else 0.0, time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    server_cpu = tree_cpu_seconds(server_pid) - server_cpu if server_pid else 0.0
    phones_cpu = time.process_time() - phones_cpu
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    asked = len(phones) * seconds / interval if interval else 0
    return {"devices": len(phones), "seconds": round(elapsed, 1), "requests": len(latencies),
            "requests_per_s": round(len(latencies) / elapsed, 1), "events_per_s": round(sent[0] / elapsed, 1),
            "kept_pace": round(len(latencies) / asked, 3) if asked else 1.0,
            "p50_ms": round(quantiles[49] * 1000, 1), "p99_ms": round(quantiles[98] * 1000, 1),
            "errors": len(errors), "first_error": errors[0] if errors else "",
            "server_cpu_ms": round(server_cpu * 1000 / max(len(latencies), 1), 2),
            "phones_cpu_ms": round(phones_cpu * 1000 / max(len(latencies), 1), 2),
            "cores_busy": round((server_cpu + phones_cpu) / elapsed, 2)}


def holds(result: dict) -> bool:
    """Whether a level was held: p99 under the limit, no error, and (nearly) every batch asked for was sent."""
    return result["p99_ms"] < P99_LIMIT_MS and result["errors"] == 0 and result["kept_pace"] >= 0.95


def run_load(devices: int, seconds: float, batch: int, workers: int, interval: float,
             ramp: list[int] | None = None, stage_seconds: float = 20, threads: int = 4) -> dict:
    """Sign the phones in, hold `devices` of them for `seconds`, then ramp; return the figures."""
    most = max([devices, *(ramp or [])])
    with tempfile.TemporaryDirectory() as instance:
        env = {**os.environ, "DONOHARM_INSTANCE": instance, "DONOHARM_SECRET_KEY": "load-test-secret-key-" + "0" * 40}
        names = create_accounts(env, most)
        port = free_port()
        server = start_gunicorn(env, port, workers, threads)
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                made = list(pool.map(lambda name: _phone_or_error(port, name), names))
            phones = [phone for phone in made if isinstance(phone, Phone)]
            not_started = [problem for problem in made if isinstance(problem, str)]
            # One unmeasured batch each first: every server worker's first signature loads the signing key.
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda phone: phone.send(batch), phones))
            result = hold(phones[:devices], seconds, batch, interval, server.pid)
            result["errors"] += len([p for p in not_started if names.index(p.split()[0]) < devices])
            stages = []
            for level in ramp or []:  # up until the first level not held: that is the saturation point
                stages.append(hold(phones[:level], stage_seconds, batch, interval, server.pid))
                if not holds(stages[-1]):
                    break
        finally:
            server.terminate()
            server.wait(timeout=30)
    saturated = next((stage["devices"] for stage in stages if not holds(stage)), None)
    return {**result, "not_started": not_started, "stages": stages, "saturation": saturated}


def one_at_a_time(requests: int, batch: int) -> dict:
    """The server's CPU time per request with nothing else queued: one phone, one worker of one thread, one batch
    after another (the least a request costs here, with no contention)."""
    with tempfile.TemporaryDirectory() as instance:
        env = {**os.environ, "DONOHARM_INSTANCE": instance, "DONOHARM_SECRET_KEY": "load-test-secret-key-" + "0" * 40}
        names = create_accounts(env, 1)
        server = start_gunicorn(env, port := free_port(), 1, 1)
        try:
            phone = Phone(port, names[0])
            for _ in range(50):  # the first signature loads the key; warm up
                phone.send(batch)
            server_cpu, started = tree_cpu_seconds(server.pid), time.perf_counter()
            for _ in range(requests):
                phone.send(batch)
            elapsed = time.perf_counter() - started
            server_cpu = tree_cpu_seconds(server.pid) - server_cpu
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"requests": requests, "server_cpu_ms": round(server_cpu * 1000 / requests, 2),
            "wall_ms": round(elapsed * 1000 / requests, 2)}


def _phone_or_error(port: int, name: str) -> Phone | str:
    try:
        return Phone(port, name)
    except OSError as error:  # a phone that never got going is an error, not silence
        return f"{name} could not sign in and start a run: {error!r}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between one phone's batches")
    parser.add_argument("--ramp", action="store_true",
                        help="then 50, 100, 150, … phones (at most twice --devices), 20 s each, until a level is "
                             "not held: the saturation point")
    parser.add_argument("--stage-seconds", type=float, default=20)
    parser.add_argument("--one-at-a-time", type=int, metavar="N",
                        help="instead: N batches from one phone to one single-threaded worker; the server's CPU per "
                             "request without contention")
    args = parser.parse_args()
    if args.one_at_a_time:
        alone = one_at_a_time(args.one_at_a_time, args.batch)
        print(f"One phone, one worker: {alone['requests']} batches of {args.batch} events, server CPU "
              f"{alone['server_cpu_ms']} ms a request, {alone['wall_ms']} ms wall a request")
        return
    levels = list(range(50, 2 * args.devices + 1, 50)) if args.ramp else None
    result = run_load(args.devices, args.seconds, args.batch, args.workers, args.interval, levels, args.stage_seconds,
                      args.threads)
    print(f"Load test on {os.cpu_count()} cores, gunicorn {args.workers} workers x {args.threads} threads, "
          f"{args.devices} phones, batches of {args.batch} events every {args.interval:g} s, {result['seconds']} s")
    for key in ("requests", "requests_per_s", "events_per_s", "kept_pace", "p50_ms", "p99_ms", "errors",
                "server_cpu_ms", "phones_cpu_ms", "cores_busy"):
        print(f"  {key:16} {result[key]}")
    if result["requests"]:
        ceiling = (os.cpu_count() or 1) * 1000 / (result["server_cpu_ms"] + result["phones_cpu_ms"])
        print(f"  CPU ceiling: {ceiling:,.0f} requests/s with every core busy (server and phones together, "
              f"{result['server_cpu_ms'] + result['phones_cpu_ms']:.2f} ms of CPU a request)")
    if result["first_error"] or result["not_started"]:
        print(f"  first error: {result['first_error'] or result['not_started'][0]}")
    verdict = "held" if holds(result) and not result["not_started"] else "NOT held"
    print(f"  {verdict}: target p99 under {P99_LIMIT_MS} ms, no error, every batch sent on time")
    if result["stages"]:
        print(f"Ramp ({args.stage_seconds:g} s per level): phones, requests/s, p50 ms, p99 ms, errors, pace kept, "
              "cores busy")
        for stage in result["stages"]:
            print(f"  {stage['devices']:5}  {stage['requests_per_s']:7}  {stage['p50_ms']:7}  {stage['p99_ms']:8}  "
                  f"{stage['errors']:4}  {stage['kept_pace']:.2f}  {stage['cores_busy']:.2f}"
                  f"{'' if holds(stage) else '  <- not held'}")
        saturation = result["saturation"]
        print(f"  saturation: {saturation} phones" if saturation else
              f"  no saturation up to {result['stages'][-1]['devices']} phones")
    sys.exit(0 if verdict == "held" else 1)


if __name__ == "__main__":
    main()
