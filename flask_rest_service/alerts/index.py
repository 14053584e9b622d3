"""Which rules watch a sensor, found without looking at every rule (no I/O).

A rule names one sensor (``sensor``) or every sensor whose name starts with
a prefix (``sensor_prefix``; ``""`` is every sensor). The index keeps the
first kind by sensor and the second by prefix, with the prefixes' distinct
lengths: a sensor's rules are one look-up for its name and one for each
distinct prefix length up to the name's (so at most the name's length + 1),
however many rules there are. A sensor no rule watches costs those look-ups
and nothing more.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from heapq import merge


class RuleIndex:
    """Rules by the sensors they watch; ``watching`` gives them in the order they were given."""

    def __init__(self, rules: Iterable[dict]):
        exact: dict[str, list] = defaultdict(list)
        prefixed: dict[str, list] = defaultdict(list)
        for position, rule in enumerate(rules):
            if "sensor" in rule:
                exact[rule["sensor"]].append((position, rule))
            else:
                prefixed[rule["sensor_prefix"]].append((position, rule))
        self._exact, self._prefixed = dict(exact), dict(prefixed)
        self._lengths = sorted({len(prefix) for prefix in prefixed})

    def __bool__(self) -> bool:
        return bool(self._exact or self._prefixed)

    def watching(self, sensor: str) -> list[dict]:
        """The rules that watch a sensor, in the order given (oldest first, as the store lists them)."""
        found = [self._exact[sensor]] if sensor in self._exact else []
        for length in self._lengths[: bisect_right(self._lengths, len(sensor))]:
            rules = self._prefixed.get(sensor[:length])
            if rules:
                found.append(rules)
        if len(found) == 1:
            return [rule for _, rule in found[0]]
        return [rule for _, rule in merge(*found, key=lambda entry: entry[0])]
