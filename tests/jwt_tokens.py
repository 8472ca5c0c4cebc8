"""Fresh signing keys and tokens for the JWT tests (PyJWT + cryptography; nothing hard-coded).

    rsa = SigningKey.rsa("k1"); ec = SigningKey.ec("k2")
    spec = jwt_spec("Strict", [provider(ISSUER, [AUDIENCE], rsa, ec)])   # a traffic.jwtAuthentication
    token = rsa.mint(claims(groups=["mcp-writers"]))
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://idp.test.invalid/realms/mcp"
AUDIENCE = "mcp-federation"


@dataclass(frozen=True)
class SigningKey:
    """A private key, its `kid` and the JWS algorithm it signs with."""

    kid: str
    private_key: Any
    alg: str

    @classmethod
    def rsa(cls, kid: str | None = None) -> "SigningKey":
        return cls(kid or uuid.uuid4().hex, rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")

    @classmethod
    def ec(cls, kid: str | None = None) -> "SigningKey":
        return cls(kid or uuid.uuid4().hex, ec.generate_private_key(ec.SECP256R1()), "ES256")

    def jwk(self, with_alg: bool = False) -> dict:
        """The public JWK (with `kid`; `alg` only when asked: agentgateway then allows just that algorithm)."""
        algorithm = RSAAlgorithm if self.alg.startswith(("RS", "PS")) else ECAlgorithm
        key = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**key, "kid": self.kid, "use": "sig", **({"alg": self.alg} if with_alg else {})}

    def mint(self, payload: dict, headers: dict | None = None, alg: str | None = None) -> str:
        """A signed token; `headers` are merged into the JOSE header (None values remove a field, e.g. kid)."""
        header = {"kid": self.kid, **(headers or {})}
        header = {name: value for name, value in header.items() if value is not None}
        return jwt.encode(payload, self.private_key, algorithm=alg or self.alg, headers=header)


def jwks(*keys: SigningKey) -> str:
    """An inline JWKS JSON string of the public keys."""
    return json.dumps({"keys": [key.jwk() for key in keys]})


def claims(lifetime: int = 300, **extra: Any) -> dict:
    """A valid payload for ISSUER/AUDIENCE: iat, exp (now + lifetime), sub, plus `extra`."""
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "verifier", "iat": now, "exp": now + lifetime, **extra}


def provider(issuer: str, audiences: list[str] | None, *keys: SigningKey) -> dict:
    """One `providers[]` entry with an inline JWKS."""
    return {"issuer": issuer, **({"audiences": audiences} if audiences is not None else {}),
            "jwks": {"inline": jwks(*keys)}}


def jwt_spec(mode: str, providers: list[dict], mcp: dict | None = None) -> dict:
    """A `traffic.jwtAuthentication` object as in an AgentgatewayPolicy spec."""
    return {"mode": mode, "providers": providers, **({"mcp": mcp} if mcp is not None else {})}


def alg_none_token(payload: dict, kid: str) -> str:
    """An unsigned token (`alg: none`), built by hand because PyJWT refuses to verify one."""
    import base64

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{part(payload)}."
