"""Suite-wide settings shared by every test package."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# The hypothesis budgets: `default` keeps `nox -s tests` quick, `fuzz` is what `nox -s fuzz` selects with
# --hypothesis-profile. Registered here: the plugin loads the profile before package conftests are read.
# No deadlines: on a shared 2-core machine a wall-clock deadline fails for reasons other than the code.
settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("default")
