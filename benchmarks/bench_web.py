"""Benchmark of the web app on loopback: a map of 200 touchpoints and a workspace of about
1 million events (the demo generator).

Prints: the map page's p50/p95 (cached grid, and right after a save, when the grid is drawn
again), a save's p50/p95 (API and editor drag), the dashboard once computed, the analysis the
first time, and 50 concurrent users (pages, API reads, comments and saves) with their errors;
then each target, met or not, and the load average at the start and the end (the machine may
be shared: run it under `flock /tmp/journeyscope-bench.lock`).
Targets: map page p95 < 150 ms (right after a save too), save p95 < 50 ms, dashboard p95 < 1 s
once computed, no errors.

    python benchmarks/bench_web.py            # 1 million events
    python benchmarks/bench_web.py --accounts 2000   # a quick run
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from journeyscope.model.templates import new_map
from journeyscope.store import edits, maps, users, workspaces
from journeyscope.web import WebSettings, create_app

PASSWORD = "benchmark password"


def big_map(touchpoints: int = 200):  # type: ignore[no-untyped-def]
    """The b2b template grown to `touchpoints` touchpoints, with emotions and links."""
    m = new_map("Benchmark map", "b2b")
    stages = m.stage_ids()
    personas = [p.id for p in m.personas]
    n = len(m.touchpoints)
    previous = None
    while n < touchpoints:
        stage = stages[n % len(stages)]
        m, ident = edits.add_touchpoint(m, stage, f"Extra touchpoint {n}")
        fields = {"owner": ["marketing", "sales", "customer-success"][n % 3],
                  "channels": ["web", "email"], "personas": personas[: 1 + n % 3],
                  "emotion": {personas[n % len(personas)]: (n % 5) - 2},
                  "kpis": [{"name": "reach", "target": 100, "measure": "reach"}],
                  "pain_points": [{"id": f"pain-{n}", "text": f"pain {n}"}],
                  "opportunities": [{"text": f"answer to pain {n}", "addresses": [f"pain-{n}"]}]}
        if previous:
            fields["next"] = [{"to": previous}]
        m = edits.update_touchpoint(m, ident, fields)
        previous = ident
        n += 1
    return m


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ms(values: list[float]) -> str:
    return (f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {pct(values, 0.95) * 1000:.1f} "
            f"ms, max {max(values) * 1000:.1f} ms (n={len(values)})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(data_dir: Path, accounts: int) -> tuple[int, int, str]:
    """Users, a workspace, the 200-touchpoint map and the demo events imported."""
    app = create_app(WebSettings(data_dir=data_dir, database_url="", secret_key="b" * 32,
                                 demo=False))
    with app.state.db.write() as s:
        owner = users.create_user(s, "owner@example.com", PASSWORD)
        _, token = users.create_token(s, owner, "bench")
        workspace = workspaces.create_workspace(s, owner, "Benchmark")
        membership = workspaces.access(s, owner, workspace.id)
        row = maps.create(s, membership, big_map(), owner)
        for i in range(50):
            user = users.create_user(s, f"user{i}@example.com", PASSWORD)
            s.flush()
            from journeyscope.store.models import Membership

            s.add(Membership(workspace_id=workspace.id, user_id=user.id, role="editor"))
        map_id, workspace_id = row.id, workspace.id
    from journeyscope.events.demo import generate

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        summary = generate(accounts, seed=11, out_dir=tmp, journey_map=new_map("x", "b2b"))
        files = [summary.files[n] for n in ("events.parquet", "accounts.csv", "contacts.csv")]
        with app.state.db.read() as s:
            owner = users.user_by_email(s, "owner@example.com")
            membership = workspaces.access(s, owner, workspace_id)
            jm = maps.load(s, owner, map_id).journey_map
        handles = [(f.name, f.open("rb")) for f in files]
        import_id = app.state.uploads.start(membership, owner, handles, jm, 2**40)
        app.state.uploads.wait(import_id)
        for _, h in handles:
            h.close()
    with app.state.db.read() as s:
        from journeyscope.store.data import import_row

        done = import_row(s, workspace_id, import_id)
    print(f"data: {done.status}, {done.message} ({time.perf_counter() - started:.1f} s to "
          "generate and import)")
    app.state.uploads.shutdown()
    app.state.measurements.shutdown()
    app.state.db.dispose()
    return map_id, workspace_id, token


def login(client: httpx.Client, email: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", data={"email": email, "password": PASSWORD,
                                         "csrf_token": token, "next": "/"})
    assert answer.status_code == 200, answer.status_code
    return token


TARGETS = {"map page p95": 0.150, "save p95": 0.050, "map page right after a save p95": 0.150,
           "dashboard p95": 1.0}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000,
                        help="demo accounts (20,000 give about 1 million events)")
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    print(f"journeyscope web benchmark: {os.cpu_count()} cores, load average "
          f"{load_average()}")
    data_dir = Path(tempfile.mkdtemp(prefix="journeyscope-bench-web-"))
    map_id, workspace_id, token = prepare(data_dir, args.accounts)
    port = free_port()
    env = {**os.environ, "JOURNEYSCOPE_DEMO": "0", "JOURNEYSCOPE_SECRET_KEY": "b" * 32}
    env.pop("JOURNEYSCOPE_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "journeyscope.cli", "serve", "--port",
                               str(port), "--data-dir", str(data_dir)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        measured = run(base, map_id, workspace_id, token, args.users)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    for name, limit in TARGETS.items():
        value = measured[name]
        print(f"target {name} < {limit * 1000:.0f} ms: {value * 1000:.1f} ms, "
              f"{'met' if value < limit else 'NOT MET'}")
    errors = measured["errors"]
    print(f"target no errors under {args.users} concurrent users: {errors:.0f}, "
          f"{'met' if errors == 0 else 'NOT MET'}")
    print(f"load average {load_average()} at the end")


def run(base: str, map_id: int, workspace_id: int, token: str,
        n_users: int) -> dict[str, float]:
    """Every measurement; returns the p95s that have a target and the errors."""
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600)
    web = httpx.Client(base_url=base, timeout=600, follow_redirects=True)
    csrf = login(web, "owner@example.com")
    started = time.perf_counter()
    first = api.get(f"/api/maps/{map_id}/analysis")
    assert first.status_code == 200, first.text[:300]
    meta = first.json()["meta"]
    print(f"analysis, first time: {time.perf_counter() - started:.1f} s for {meta['events']:,} "
          f"events of {meta['accounts']:,} accounts")

    page = [timed(web.get, f"/maps/{map_id}") for _ in range(60)][10:]
    print(f"map page (200 touchpoints, measured, cached grid): {ms(page)}")
    size = len(web.get(f"/maps/{map_id}").content)
    print(f"map page size: {size / 1024:.0f} KiB")

    saves, redraws, moves = [], [], []
    document = api.get(f"/api/maps/{map_id}").json()
    version = document["version"]
    doc = document["document"]
    for i in range(30):
        doc["touchpoints"][5]["name"] = f"Renamed {i}"
        t = time.perf_counter()
        answer = api.put(f"/api/maps/{map_id}", json={"base_version": version, "document": doc})
        saves.append(time.perf_counter() - t)
        assert answer.status_code == 200, answer.text[:300]
        version = answer.json()["version"]
        redraws.append(timed(web.get, f"/maps/{map_id}"))
    print(f"save (API PUT of the whole map): {ms(saves)}")
    print(f"map page right after a save (grid drawn again; the new version is measured in the "
          f"background): {ms(redraws)}")
    stage_ids = [s["id"] for s in doc["stages"]]
    for i in range(20):
        t = time.perf_counter()
        answer = web.post(f"/maps/{map_id}/move", data={
            "touchpoint": doc["touchpoints"][7]["id"], "stage": stage_ids[i % len(stage_ids)],
            "index": "0", "base_version": str(version)},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
        moves.append(time.perf_counter() - t)
        assert answer.status_code == 200, answer.text[:300]
        version += 1
    print(f"editor drag (save and the editor drawn again): {ms(moves)}")

    web.get(f"/maps/{map_id}/dashboard")
    board = [timed(web.get, f"/maps/{map_id}/dashboard") for _ in range(20)]
    print(f"dashboard, once computed: {ms(board)}")

    errors = concurrent(base, map_id, n_users)
    return {"map page p95": pct(page, 0.95), "save p95": pct(saves, 0.95),
            "map page right after a save p95": pct(redraws, 0.95),
            "dashboard p95": pct(board, 0.95), "errors": float(errors)}


def timed(call, *args, **kwargs) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    answer = call(*args, **kwargs)
    elapsed = time.perf_counter() - t
    assert answer.status_code == 200, (answer.status_code, answer.text[:300])
    return elapsed


def concurrent(base: str, map_id: int, n_users: int, rounds: int = 10) -> int:
    """`n_users` users signing in at once, then each opening the map page and its API view,
    commenting, and saving a change on the version it read (409 when beaten to it); returns
    the number of errors."""
    errors: list[str] = []
    latencies: list[float] = []
    outcomes = {"saved": 0, "conflict": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(n_users)

    def note(method: str, path: str, answer: httpx.Response, elapsed: float) -> None:
        with lock:
            latencies.append(elapsed)
            if answer.status_code == 409 and method == "PUT":
                outcomes["conflict"] += 1
            elif answer.status_code >= 400:
                errors.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
            elif method == "PUT":
                outcomes["saved"] += 1

    def session(c: httpx.Client, i: int, csrf: str) -> None:
        headers = {"X-CSRF-Token": csrf}
        for r in range(rounds):
            body: dict = {}
            for method, path, data in (
                    ("GET", f"/maps/{map_id}", None), ("GET", f"/api/maps/{map_id}", None),
                    ("POST", f"/api/maps/{map_id}/comments", {"body": f"u{i} r{r}"})):
                t = time.perf_counter()
                answer = c.request(method, path, json=data, headers=headers)
                note(method, path, answer, time.perf_counter() - t)
                if path == f"/api/maps/{map_id}" and answer.status_code == 200:
                    body = answer.json()
            if not body:
                continue
            doc = body["document"]
            doc["touchpoints"][i % len(doc["touchpoints"])]["description"] = f"u{i} r{r}"
            t = time.perf_counter()
            answer = c.put(f"/api/maps/{map_id}", json={"base_version": body["version"],
                                                        "document": doc}, headers=headers)
            note("PUT", f"/api/maps/{map_id}", answer, time.perf_counter() - t)

    def user(i: int) -> None:
        with httpx.Client(base_url=base, timeout=120, follow_redirects=True) as c:
            try:
                csrf: str | None = login(c, f"user{i}@example.com")
            except (httpx.HTTPError, AssertionError) as exc:
                with lock:
                    errors.append(f"user {i} login: {exc!r}")
                csrf = None
            barrier.wait()
            if csrf is None:
                return
            try:
                session(c, i, csrf)
            except httpx.HTTPError as exc:  # a dropped connection is an error too
                with lock:
                    errors.append(f"user {i}: {exc.__class__.__name__}: {exc}")

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(n_users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    print(f"{n_users} concurrent users, {len(latencies)} requests in {wall:.1f} s "
          f"({len(latencies) / wall:.0f}/s): {ms(latencies)}; saves {outcomes['saved']}, "
          f"told of a conflict {outcomes['conflict']}; errors: {len(errors)}")
    for line in errors[:10]:
        print("  error:", line)
    return len(errors)


if __name__ == "__main__":
    main()
