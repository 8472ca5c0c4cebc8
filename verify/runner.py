"""Check all routes concurrently; retry the failing ones with backoff until the deadline.

Right after `pulumi up`, routes and pods may still be converging, so a failure is only final at the deadline.
The whole run ends by `deadline + timeout` seconds whatever the peers do: every request stops at that time
(verify/mcp_client.py), and a route check still running then (a peer that holds a connection open in a way the
client cannot see) is abandoned in its daemon thread and reported as failed.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Sequence

from verify.checks import check_route, redacted
from verify.credentials import NO_CREDENTIALS, Credentials
from verify.plan import RoutePlan
from verify.results import Problem, RouteResult

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 5.0
MIN_REQUEST_TIMEOUT = 1.0
# Checking a route is network-bound (a handful of HTTP exchanges through the gateway), so every route gets its
# own thread up to this cap: 50 routes then cost about one route's time, not ceil(50/8) waves (bench/README.md).
MAX_WORKERS = 64
# A check that ignored its stop time gets this much longer before it is abandoned (it should never be needed).
ABANDON_GRACE = 0.5

Progress = Callable[[str], None]


def backoff_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): 0.5, 1, 2, 4, 5, 5, ..."""
    return min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (attempt - 1))


def _unfinished(gateway_url: str, route: RoutePlan) -> RouteResult:
    result = RouteResult(route.name, route.path, gateway_url.rstrip("/") + route.path)
    result.problems = [Problem("deadline", "the check did not finish before the deadline (the peer kept the "
                                           "connection busy)")]
    return result


def _check_all(gateway_url: str, routes: Sequence[RoutePlan], timeout: float, stop_at: float,
               credentials: Credentials, clock: Callable[[], float]) -> list[RouteResult]:
    """Check `routes` on daemon threads; whatever has not finished by `stop_at` is reported as unfinished."""
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for index, route in enumerate(routes):
        todo.put((index, route))
    done: dict[int, RouteResult] = {}
    finished = threading.Condition()

    def work() -> None:
        while True:
            try:
                index, route = todo.get_nowait()
            except queue.Empty:
                return
            result = check_route(gateway_url, route, timeout, stop_at, credentials)
            with finished:
                done[index] = result
                finished.notify()

    for number in range(min(MAX_WORKERS, len(routes))):
        threading.Thread(target=work, name=f"verify-{number}", daemon=True).start()
    with finished:
        while len(done) < len(routes):
            left = stop_at + ABANDON_GRACE - clock()
            if left <= 0:
                break
            finished.wait(left)
        return [done.get(index) or redacted(_unfinished(gateway_url, route), credentials)
                for index, route in enumerate(routes)]


def _describe_waiting(failing: list[RouteResult]) -> str:
    return ", ".join(f"{result.name}: {result.reason}" for result in failing)


def verify_routes(routes: Sequence[RoutePlan], gateway_url: str, deadline: float = 120.0, timeout: float = 10.0,
                  progress: Progress | None = None, sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic,
                  credentials: Credentials = NO_CREDENTIALS) -> list[RouteResult]:
    """Return one result per route, in plan order.

    The first attempt always runs. A route that passed is not checked again. Failing routes are retried
    after a backoff while `deadline` seconds have not passed; a retry's requests time out no later than the
    deadline (but get at least MIN_REQUEST_TIMEOUT). No request outlives `deadline + timeout`. `progress`
    receives one line per retry.
    """
    started = clock()
    give_up_at = started + deadline
    hard_stop = give_up_at + timeout
    results: dict[str, RouteResult] = {}
    pending = list(routes)
    request_timeout = timeout
    attempt = 0
    while True:
        attempt += 1
        for result in _check_all(gateway_url, pending, request_timeout, hard_stop, credentials, clock):
            result.attempts = attempt
            results[result.name] = result
        failing = [results[route.name] for route in pending if not results[route.name].passed]
        remaining = give_up_at - clock()
        if not failing or remaining <= 0:
            break
        delay = min(backoff_delay(attempt), remaining)
        if progress:
            progress(f"verify: {len(failing)}/{len(routes)} route(s) failing after attempt {attempt} "
                     f"({_describe_waiting(failing)}); retrying in {delay:.1f}s, giving up in {remaining:.0f}s")
        sleep(delay)
        pending = [route for route in pending if not results[route.name].passed]
        request_timeout = min(timeout, max(MIN_REQUEST_TIMEOUT, give_up_at - clock()))
    return [results[route.name] for route in routes]
