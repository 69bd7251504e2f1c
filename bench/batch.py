"""Benchmark batch migrations against the local sandbox with injected latency.

Prints figures, not pass/fail: wall times, the speed-up at concurrency C against the ideal
(C times faster than one worker), requests per freshly created agent (when the security scan
is done by the first poll, and when it needs one more read) and per unchanged re-run agent,
the 429s a run at `--max-rps` equal to an account limit provokes, the time to plan many
agents offline, and the cold start of `--help`.

    python bench/batch.py                 # 100 agents, 50 ms per request, concurrency 8
    python bench/batch.py --agents 40 --latency 0.02 --concurrency 4 --offline 300

It drives the installed `atoms-migrate` as a subprocess (as a CI job would) and serves the
sandbox in this process; agents are synthetic copies of examples/support-agent.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox  # noqa: E402

EXE = Path(sys.executable).parent / "atoms-migrate"
EXAMPLE = ROOT / "examples" / "support-agent.json"


def write_agents(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    base = json.loads(EXAMPLE.read_text())
    base.pop("agent_id", None)
    base["conversation_config"]["agent"]["prompt"].pop("knowledge_base", None)  # no EL reads needed
    for i in range(count):
        base["name"] = f"Bench agent {i:04d}"
        (folder / f"agent{i:04d}.json").write_text(json.dumps(base))


def cli(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run([str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, proc


def batch(
    work: Path,
    agents: int,
    latency: float,
    concurrency: int,
    scan_reads: int = 1,
    rate_limit: float | None = None,
    max_rps: float | None = None,
    folder: str = "agents",
) -> dict[str, float]:
    """A fresh sandbox: create every agent, then re-run unchanged; count requests (and 429s)."""
    sandbox = Sandbox(latency=latency, scan_reads=scan_reads, rate_limit=rate_limit)
    server = sandbox.serve()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    env = {**os.environ, "SMALLEST_BASE_URL": url, "SMALLEST_API_KEY": ATOMS_KEY, "NO_COLOR": "1"}
    env.pop("ELEVENLABS_API_KEY", None)
    cwd = work / f"c{concurrency}-s{scan_reads}-r{rate_limit}"
    cwd.mkdir()
    extra = ["--max-rps", str(max_rps)] if max_rps else []
    try:
        seconds, proc = cli(["all", str(work / folder), "--yes", "--concurrency", str(concurrency), *extra], cwd, env)
        if proc.returncode != 0:
            raise SystemExit(f"batch failed:\n{proc.stderr[-2000:]}")
        fresh = [e for e in sandbox.log if e["status"] != 429]
        provoked = sandbox.rate_limited
        live = [a for a in sandbox.atoms.summary() if not a["archived"]]
        assert len(live) == agents, f"{len(live)} agents exist, expected {agents}"
        sandbox.log.clear()
        rerun_seconds, proc = cli(
            ["all", str(work / folder), "--yes", "--concurrency", str(concurrency), *extra], cwd, env
        )
        rerun = list(sandbox.log)
    finally:
        server.shutdown()
    return {
        "seconds": seconds,
        "requests_per_agent": len(fresh) / agents,
        "writes_per_agent": sum(e["method"] != "GET" for e in fresh) / agents,
        "rerun_seconds": rerun_seconds,
        "rerun_reads_per_agent": sum(e["method"] == "GET" for e in rerun) / agents,
        "rerun_writes": sum(e["method"] != "GET" for e in rerun),
        "provoked_429": provoked,
    }


def offline_planning(work: Path, count: int) -> float:
    folder = work / "offline"
    write_agents(folder, count)
    env = {k: v for k, v in os.environ.items() if k not in ("SMALLEST_API_KEY", "ELEVENLABS_API_KEY")}
    seconds, proc = cli(["all", str(folder), "--dry-run", "--json"], work, env)
    if proc.returncode != 0:
        raise SystemExit(f"offline planning failed:\n{proc.stderr[-2000:]}")
    assert len(json.loads(proc.stdout)["agents"]) == count
    return seconds


def cold_start(runs: int = 7) -> float:
    times = [cli(["--help"], ROOT, dict(os.environ))[0] for _ in range(runs)]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every sandbox request")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--offline", type=int, default=1000, help="agents to plan offline")
    parser.add_argument(
        "--rate-limit", type=float, default=10.0, help="the fake account's requests per second (and --max-rps)"
    )
    parser.add_argument("--rate-agents", type=int, default=30, help="agents in the rate-limited run")
    args = parser.parse_args()
    if not EXE.exists():
        raise SystemExit(f"{EXE} not found: pip install -e . in this environment first")
    work = Path(tempfile.mkdtemp(prefix="atoms-migrate-bench-"))
    try:
        write_agents(work / "agents", args.agents)
        write_agents(work / "rate-agents", args.rate_agents)
        print(f"{args.agents} agents, {args.latency * 1000:.0f} ms per request")
        one = batch(work, args.agents, args.latency, 1)
        many = batch(work, args.agents, args.latency, args.concurrency)
        speedup = one["seconds"] / many["seconds"]
        print(f"concurrency 1:  {one['seconds']:7.2f} s")
        print(
            f"concurrency {args.concurrency}: {many['seconds']:7.2f} s   speed-up {speedup:.2f}x, "
            f"{speedup / args.concurrency:.2f} of the ideal {args.concurrency}x"
        )
        print(
            f"fresh agent:    {many['requests_per_agent']:.2f} requests "
            f"({many['writes_per_agent']:.2f} writes) per agent, "
            "run-level reads (catalog, marker listing) included; the scan needs one more read"
        )
        instant = batch(work, args.agents, args.latency, args.concurrency, scan_reads=0)
        print(
            f"fresh agent:    {instant['requests_per_agent']:.2f} requests per agent "
            "when the scan is done by the first poll "
            "(v2 minimum: create, branches, draft, publish, one poll, read-back = 6)"
        )
        limited = batch(
            work,
            args.rate_agents,
            args.latency,
            args.concurrency,
            rate_limit=args.rate_limit,
            max_rps=args.rate_limit,
            folder="rate-agents",
        )
        print(
            f"rate limit:     {args.rate_agents} agents at --max-rps {args.rate_limit:g} against an account limit of "
            f"{args.rate_limit:g}/s: {limited['provoked_429']} 429s provoked, {limited['seconds']:.2f} s, "
            f"{limited['requests_per_agent']:.2f} requests per agent"
        )
        print(
            f"unchanged run:  {many['rerun_writes']} writes, {many['rerun_reads_per_agent']:.2f} reads per agent, "
            f"{many['rerun_seconds']:.2f} s"
        )
        offline = offline_planning(work, args.offline)
        print(
            f"offline plan:   {args.offline} agents in {offline:.2f} s "
            f"({offline / args.offline * 1000:.1f} ms per agent)"
        )
        print(f"--help:         {cold_start() * 1000:.0f} ms cold start (median of 7)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
