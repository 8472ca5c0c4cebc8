"""Check all routes concurrently; retry the failing ones with backoff until the deadline.

Right after `pulumi up`, routes and pods may still be converging, so a failure is only final at the deadline.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

from verify.checks import RouteResult, check_route
from verify.plan import RoutePlan

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 5.0
MIN_REQUEST_TIMEOUT = 1.0
# Checking a route is network-bound (a handful of HTTP exchanges through the gateway), so every route gets its
# own thread up to this cap: 50 routes then cost about one route's time, not ceil(50/8) waves (bench/README.md).
MAX_WORKERS = 64

Progress = Callable[[str], None]


def backoff_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): 0.5, 1, 2, 4, 5, 5, ..."""
    return min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (attempt - 1))


def _check_all(gateway_url: str, routes: Sequence[RoutePlan], timeout: float) -> list[RouteResult]:
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(routes))) as pool:
        return list(pool.map(lambda route: check_route(gateway_url, route, timeout), routes))


def _describe_waiting(failing: list[RouteResult]) -> str:
    return ", ".join(f"{result.name}: {result.reason}" for result in failing)


def verify_routes(routes: Sequence[RoutePlan], gateway_url: str, deadline: float = 120.0, timeout: float = 10.0,
                  progress: Progress | None = None, sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> list[RouteResult]:
    """Return one result per route, in plan order.

    The first attempt always runs. A route that passed is not checked again. Failing routes are retried
    after a backoff while `deadline` seconds have not passed; a retry's requests time out no later than the
    deadline (but get at least MIN_REQUEST_TIMEOUT). `progress` receives one line per retry.
    """
    give_up_at = clock() + deadline
    results: dict[str, RouteResult] = {}
    pending = list(routes)
    request_timeout = timeout
    attempt = 0
    while True:
        attempt += 1
        for result in _check_all(gateway_url, pending, request_timeout):
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
