"""Locust load tests of the pipeline: `locust -f loadtests ...` or `python -m loadtests.run --shape day`.

Locust loads every module here whose name does not start with an underscore as a locustfile; only
`locustfile.py` defines User and LoadTestShape classes or registers event listeners, the others are plain
modules with no side effects at import.
"""
