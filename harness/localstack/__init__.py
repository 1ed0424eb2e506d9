"""The embedded local stack: moto on 127.0.0.1, the real deploy, the skipped properties wired, and a local
Lambda runtime running the built zip."""

from harness.localstack.stack import LocalStack

__all__ = ["LocalStack"]
