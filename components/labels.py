"""Labels and annotations the stack's objects carry, each stated once (no Pulumi imports: policy/ reads them too)."""

PART_OF = {"app.kubernetes.io/part-of": "mcp-federation"}  # on every object the stack declares
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace, immutable
# On every AgentgatewayBackend: its targets' dangerous tools as sorted `<target>/<tool>` pairs (policy/ checks
# that each is denied outside dev stacks).
DANGEROUS_TOOLS_ANNOTATION = "mcp-federation.dev/dangerous-tools"
