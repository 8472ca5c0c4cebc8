"""mcp-federation: MCP servers behind one agentgateway Gateway.

Stack config -> typed config -> plan -> components -> stack outputs."""
import pulumi
import pulumi_kubernetes as k8s

from components.catalog import server_catalog
from components.config import load_config
from components.federation import McpFederation, McpFederationArgs
from components.plan import plan_federation

# These raise before any resource is declared: bad config, a server file without a usable TOOLS/PROBE, or tool
# rules naming tools a server does not have.
config = load_config()
catalogs = {server.name: server_catalog(config.code_dir, server) for server in config.servers}
plan = plan_federation(config, catalogs)

# The only Kubernetes provider (default providers are disabled in Pulumi.yaml); every child inherits it.
provider = k8s.Provider("kubernetes", context=config.kube_context)
federation = McpFederation("mcp-federation", McpFederationArgs(plan),
                           opts=pulumi.ResourceOptions(providers=[provider]))

pulumi.export("namespace", federation.namespace)
pulumi.export("gateway", federation.gateway)
pulumi.export("routes", federation.routes)
pulumi.export("verificationPlan", federation.verification_plan)
