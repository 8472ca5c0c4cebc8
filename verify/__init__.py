"""Post-deploy verifier: prove that every route of the gateway answers MCP with the planned tools.

Library use::

    from verify import load_plan_file, verify_routes
    results = verify_routes(load_plan_file("plan.json"), "http://127.0.0.1:8080", deadline=60)
"""
from verify.checks import RouteResult, check_route
from verify.credentials import Credentials
from verify.plan import PlanError, RoutePlan, load_plan_file, load_plan_from_stack, parse_plan
from verify.runner import verify_routes

__all__ = ["Credentials", "PlanError", "RoutePlan", "RouteResult", "check_route", "load_plan_file", "load_plan_from_stack",
           "parse_plan", "verify_routes"]
