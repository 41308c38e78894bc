"""Printed JSON is compact (a list of numbers on one line) and still exactly the same JSON."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kvbound.outputs import strict_json

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                                 allow_infinity=False) | st.text()
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=6), max_leaves=30)


@given(documents)
def test_compact_text_reads_back_as_the_same_json(doc: Any) -> None:
    assert json.loads(strict_json(doc, indent=2)) == json.loads(json.dumps(doc))


def test_lists_of_numbers_take_one_line() -> None:
    text = strict_json({"schedule_shapes": [[1, 1], [2, 2], [3, 3]], "sides": [1, 2, 3],
                        "runs": [{"seed": 0}]}, indent=2)
    assert '"schedule_shapes": [[1, 1], [2, 2], [3, 3]],' in text
    assert '"sides": [1, 2, 3],' in text
    assert '"runs": [\n    {\n      "seed": 0\n    }\n  ]' in text  # objects keep their lines
    long = strict_json({"x": [[i, i] for i in range(40)]}, indent=2)
    assert long.count("\n") > 40  # too wide for one line: one pair per line
