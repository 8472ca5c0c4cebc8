"""Typed Pulumi components that federate MCP servers behind one agentgateway Gateway."""
