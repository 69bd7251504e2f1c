"""What the safety of a write costs: requests per create, per direct update, per staged
(stage, prove, go live) update, per adapted prompt form, and per `doctor --probe`.

Prints figures, not pass/fail. Runs the applier in process against the sandbox (no latency),
so the figures are request counts and in-process wall times.

    python bench/safety.py
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from atoms_migrate.apply import doctor  # noqa: E402
from atoms_migrate.apply.applier import Applier, ApplyOptions, locate  # noqa: E402
from atoms_migrate.mapping.tables import load_tables  # noqa: E402
from atoms_migrate.plan.planner import plan_agent  # noqa: E402
from atoms_migrate.platforms.retry import RetryPolicy  # noqa: E402
from atoms_migrate.platforms.smallest import AtomsClient  # noqa: E402
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox  # noqa: E402
from atoms_migrate.source.shapes import normalise  # noqa: E402

EXAMPLE = ROOT / "examples" / "support-agent.json"


def client(box: Sandbox) -> AtomsClient:
    http = httpx.Client(
        base_url="http://sandbox", transport=box.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
    )
    return AtomsClient(http, RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None))


def run(
    box: Sandbox, atoms: AtomsClient, raw: dict, agent_id: str | None, forms: dict, **options
) -> tuple[str, int, int, float]:
    tables = load_tables()
    source = normalise(copy.deepcopy(raw), "bench", path="bench.json")
    start, before = time.perf_counter(), len(box.log)
    opts = ApplyOptions(poll_interval=0, **options)
    target = locate(atoms, source.key, agent_id, opts, [], forms=forms)
    plan = plan_agent(source, tables, target.config if target else None, target.agent_id if target else None)
    result = Applier(
        atoms, opts, sleep=lambda s: None, forms=forms, remember_form=lambda f, v: forms.__setitem__(f, v)
    ).apply(plan, target)
    requests = box.log[before:]
    writes = sum(1 for r in requests if r["method"] != "GET")
    return result.agent_id, len(requests), writes, time.perf_counter() - start


def main() -> None:
    raw = json.loads(EXAMPLE.read_text())
    changed = copy.deepcopy(raw)
    changed["conversation_config"]["agent"]["first_message"] = "Changed."
    rows = []
    box = Sandbox()
    atoms = client(box)
    agent_id, n, w, t = run(box, atoms, raw, None, {})
    rows.append(("create (new agent, live branch)", n, w, t))
    _, n, w, t = run(box, atoms, changed, agent_id, {}, direct=True)
    rows.append(("update --direct", n, w, t))
    _, n, w, t = run(box, atoms, raw, agent_id, {})
    rows.append(("update, staged (stage, prove, go live)", n, w, t))
    box2 = Sandbox()
    box2.atoms.set_behaviours({"prompt-in-global-prompt"})
    atoms2 = client(box2)
    _, n, w, t = run(box2, atoms2, raw, None, {})
    rows.append(("create, prompt adapted to globalPrompt", n, w, t))
    box2b = Sandbox()
    box2b.atoms.set_behaviours({"prompt-in-global-prompt"})
    _, n, w, t = run(box2b, client(box2b), raw, None, {"prompt": "globalPrompt"})
    rows.append(("create, globalPrompt already known (state)", n, w, t))
    box3 = Sandbox()
    atoms3 = client(box3)
    start = time.perf_counter()
    report = doctor.Report()
    doctor.probe(atoms3, report, sleep=lambda s: None)
    kinds = Counter(r["method"] for r in box3.log)
    rows.append(("doctor --probe", len(box3.log), len(box3.log) - kinds["GET"], time.perf_counter() - start))
    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  requests  writes  in-process ms")
    for name, n, w, t in rows:
        print(f"{name:<{width}}  {n:>8}  {w:>6}  {t * 1000:>13.1f}")


if __name__ == "__main__":
    main()
