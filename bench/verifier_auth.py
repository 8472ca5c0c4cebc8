"""Verifier wall time for 50 authenticated routes next to 50 anonymous ones (issue 12: within 1.2x).

One bench/passthrough_front.py process serves 2 x N routes over the three mock servers: /mcp/a<i> anonymous and
/mcp/s<i> behind Strict JWT authentication (`--jwt`: the test front's validator, agentgateway's rules, the
inline JWKS parsed once). The token is minted per run from a fresh RSA key (tests/jwt_tokens.py). Runs alternate
anonymous / authenticated so both see the same machine load; each is `python -m verify --deadline 0 --json`
(authenticated: `--token-env`, plan entries with `auth: {required: true}`, so every route also gets the anonymous
401 probe). Medians of the verifier's elapsed time and of the front's CPU time are printed, with their ratios.

    .venv/bin/python bench/verifier_auth.py [--routes 50] [--latency-ms 0,20] [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from verifier_scaling import REPO_ROOT, SERVERS, Front, run_verifier, start_servers  # noqa: E402  (bench/)

sys.path.insert(0, str(REPO_ROOT))
from components.catalog import load_catalog  # noqa: E402
from components.plan import verification_entry  # noqa: E402
from table import print_table  # noqa: E402  (bench/table.py)
from tests.jwt_tokens import AUDIENCE, ISSUER, SigningKey, claims, jwt_spec, provider  # noqa: E402
from tests.server_process import SERVER_CODE  # noqa: E402
from verify.runner import MAX_WORKERS  # noqa: E402

TARGET = 1.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", type=int, default=50, help="routes of each kind")
    parser.add_argument("--latency-ms", default="0,20", help="comma list of delays the front adds per request")
    parser.add_argument("--runs", type=int, default=5, help="verifier runs of each kind; medians are reported")
    args = parser.parse_args()
    key = SigningKey.rsa()
    spec = jwt_spec("Strict", [provider(ISSUER, [AUDIENCE], key)])
    print(f"# {args.routes} anonymous vs {args.routes} authenticated routes, python -m verify --deadline 0, "
          f"{args.runs} alternating runs each, medians; {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    catalogs = {name: load_catalog(SERVER_CODE, f"{name}.py") for name in SERVERS}
    rows, verdicts = [], []
    with tempfile.TemporaryDirectory(prefix="bench-verify-auth-") as tmp_dir, ExitStack() as stack:
        by_name = start_servers(Path(tmp_dir), stack)
        tmp, servers = Path(tmp_dir), list(by_name.values())
        routes, plans = [], {"anonymous": [], "authenticated": []}
        for i in range(args.routes):
            name = SERVERS[i % len(SERVERS)]
            denied = tuple(tool.name for tool in catalogs[name].tools if tool.dangerous)
            for kind, prefix in (("anonymous", "a"), ("authenticated", "s")):
                path = f"/mcp/{prefix}{i}"
                routes.append({"path": path, "upstream": by_name[name].base_url, "denied": denied,
                               "auth": kind == "authenticated"})
                entry = verification_entry(f"{prefix}{i}", path, catalogs[name], denied)
                plans[kind].append({**entry, "auth": {"required": True}} if kind == "authenticated" else entry)
        for latency in [float(value) for value in args.latency_ms.split(",")]:
            front = Front(routes, latency, tmp, jwt=spec)
            try:
                runs = {"anonymous": [], "authenticated": []}
                for _ in range(args.runs):
                    token = key.mint(claims())
                    runs["anonymous"].append(run_verifier(front, servers, plans["anonymous"], MAX_WORKERS, tmp))
                    runs["authenticated"].append(run_verifier(front, servers, plans["authenticated"], MAX_WORKERS,
                                                              tmp, token=token))
            finally:
                front.stop()
            medians = {kind: (statistics.median(r.elapsed for r in done), statistics.median(r.front_cpu for r in done),
                              statistics.median(r.verifier_cpu for r in done)) for kind, done in runs.items()}
            ratio = medians["authenticated"][0] / medians["anonymous"][0]
            front_ratio = medians["authenticated"][1] / medians["anonymous"][1]
            for kind, (elapsed, front_cpu, verifier_cpu) in medians.items():
                rows.append((f"{latency:g}", kind, str(args.routes), f"{elapsed * 1000:.0f}",
                             f"{verifier_cpu * 1000:.0f}", f"{front_cpu * 1000:.0f}"))
            verdicts.append(f"added latency {latency:g} ms: authenticated / anonymous = {ratio:.2f}x wall time "
                            f"(target <= {TARGET}x: {'met' if ratio <= TARGET else 'NOT met'}); front CPU "
                            f"{front_ratio:.2f}x")
            print(f"  latency {latency:g} ms done", flush=True)
    print_table(("added latency ms", "routes", "count", "verifier ms", "verifier CPU ms", "front CPU ms"), rows)
    for line in verdicts:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
