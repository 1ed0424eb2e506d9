"""The handler tests' name for the one fault injector (tests/support/faults.py)."""

from tests.support.faults import KINDS, NOT_THE_PHOTOS_FAULT, Counter, Fault

__all__ = ["KINDS", "NOT_THE_PHOTOS_FAULT", "Counter", "Fault"]
