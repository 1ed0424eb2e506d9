"""Measurements of the pipeline: speed and quality (`bench`, `quality`), cost (`costmodel`, `bill`), and the
embedded local stack's own throughput (`local`)."""
