"""Retry/backoff logic of the runner, with a fake clock and fake route checks (no network, no real waiting)."""
import threading

import pytest

from verify import runner
from verify.checks import Problem, RouteResult
from verify.plan import parse_plan

PLAN = parse_plan([{"name": name, "path": f"/mcp/{name}", "expectedTools": ["t"], "probe": {"tool": "t"}}
                   for name in ("github", "slack")])


class FakeTime:
    """A clock that only moves when the runner sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_checks(monkeypatch):
    """Routes fail while their name is in `failing`; every call is recorded with its request timeout."""
    state = {"failing": set(), "calls": []}

    def check(gateway_url, route, timeout, *_):
        state["calls"].append((route.name, timeout))
        result = RouteResult(route.name, route.path, gateway_url + route.path)
        if route.name in state["failing"]:
            result.problems = [Problem("unreachable", "connection refused")]
        return result

    monkeypatch.setattr(runner, "check_route", check)
    return state


def test_backoff_doubles_up_to_the_cap():
    assert [runner.backoff_delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_passing_routes_are_checked_once_and_nothing_waits(fake_checks):
    time = FakeTime()
    results = runner.verify_routes(PLAN, "http://gw", deadline=30, sleep=time.sleep, clock=time.clock)
    assert [r.passed for r in results] == [True, True]
    assert sorted(name for name, _ in fake_checks["calls"]) == ["github", "slack"]
    assert time.sleeps == []


def test_only_failing_routes_are_retried_until_they_pass(fake_checks):
    time = FakeTime()
    fake_checks["failing"] = {"slack"}
    lines = []

    def sleep(seconds):
        time.sleep(seconds)
        if len(time.sleeps) == 2:
            fake_checks["failing"].clear()  # the route converged

    results = runner.verify_routes(PLAN, "http://gw", deadline=30, progress=lines.append, sleep=sleep,
                                   clock=time.clock)
    assert [r.passed for r in results] == [True, True]
    assert [name for name, _ in fake_checks["calls"]].count("github") == 1
    assert [name for name, _ in fake_checks["calls"]].count("slack") == 3
    assert results[1].attempts == 3
    assert time.sleeps == [0.5, 1.0]
    assert len(lines) == 2 and "1/2 route(s) failing after attempt 1" in lines[0]
    assert "slack: connection refused" in lines[0]


def test_gives_up_at_the_deadline_with_the_last_reason(fake_checks):
    time = FakeTime()
    fake_checks["failing"] = {"github", "slack"}
    results = runner.verify_routes(PLAN, "http://gw", deadline=10, timeout=8, sleep=time.sleep, clock=time.clock)
    assert [r.reason for r in results] == ["connection refused"] * 2
    assert sum(time.sleeps) == pytest.approx(10)  # 0.5 + 1 + 2 + 4 + 2.5: the last wait is cut to the deadline
    assert time.sleeps[-1] == pytest.approx(2.5)
    timeouts = [timeout for _, timeout in fake_checks["calls"]]
    assert timeouts[:2] == [8, 8]  # the first attempt gets the full request timeout
    assert timeouts[-1] == runner.MIN_REQUEST_TIMEOUT  # at the deadline a retry still gets the minimum


def test_zero_deadline_means_one_attempt(fake_checks):
    time = FakeTime()
    fake_checks["failing"] = {"github"}
    results = runner.verify_routes(PLAN, "http://gw", deadline=0, sleep=time.sleep, clock=time.clock)
    assert not results[0].passed and results[0].attempts == 1
    assert time.sleeps == []


def test_fifty_routes_are_checked_at_the_same_time(monkeypatch):
    """All 50 checks must be in flight together: each waits at a 50-party barrier (which breaks, failing the
    route, if fewer run concurrently; the timeout only keeps a broken runner from hanging the suite)."""
    barrier = threading.Barrier(50, timeout=30)

    def check(gateway_url, route, timeout, *_):
        result = RouteResult(route.name, route.path, gateway_url + route.path)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            result.problems = [Problem("unreachable", "not checked concurrently with the others")]
        return result

    monkeypatch.setattr(runner, "check_route", check)
    plan = parse_plan([{"name": f"r{i}", "path": f"/mcp/r{i}", "expectedTools": ["t"]} for i in range(50)])
    results = runner.verify_routes(plan, "http://gw", deadline=0, sleep=lambda s: None)
    assert [r.name for r in results if not r.passed] == []


def test_a_check_that_never_returns_is_abandoned_at_deadline_plus_timeout(monkeypatch):
    """Whatever a peer does, the run ends by deadline + timeout: a hung check is reported, not waited for."""
    import time as real_time
    release = threading.Event()

    def hung(gateway_url, route, timeout, *_):
        release.wait(60)  # bounded: released at the end of the test
        return RouteResult(route.name, route.path, gateway_url + route.path)

    monkeypatch.setattr(runner, "check_route", hung)
    started = real_time.monotonic()
    try:
        results = runner.verify_routes(PLAN, "http://gw", deadline=0, timeout=0.5, sleep=lambda s: None)
    finally:
        release.set()
    assert real_time.monotonic() - started < 0.5 + runner.ABANDON_GRACE + 2  # generous for a loaded machine
    assert [r.problems[0].kind for r in results] == ["deadline", "deadline"]
