"""photopipe's harness: packaging, deploy/destroy, the embedded local stack, metrics readback, bench, cost."""
