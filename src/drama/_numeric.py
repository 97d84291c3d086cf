"""Numerical floors shared by several modules, each defined once with the reason for its
value."""

#: The smallest divisor: a ratio whose denominator may be 0 (a span, a norm, a score range)
#: divides by ``max(denominator, TINY)`` instead. It is far below any real float64 spread,
#: yet its reciprocal (1e300) is still finite.
TINY = 1e-300
