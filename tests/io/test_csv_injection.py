"""CSV exports neutralize cells a spreadsheet would run as formulas (OWASP), leaving numbers alone."""

from __future__ import annotations

import pandas as pd

from siyu.io.tables import write_csv

PAYLOADS = ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1:A9)", "+1+1", "-2+3", "\t=1+1", "\r=1+1", "|calc"]


def test_formula_cells_get_an_apostrophe_and_numbers_stay(tmp_path):
    frame = pd.DataFrame({"user_id": [*PAYLOADS, "u1"], "score": [-0.5] * (len(PAYLOADS) + 1),
                          "band": pd.Categorical(["=cmd"] + ["high"] * len(PAYLOADS))})
    path = write_csv(frame, tmp_path / "tags.csv")
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    got = dict(zip(frame["user_id"], back["user_id"], strict=True))
    for payload in PAYLOADS[:6]:
        assert got[payload] == "'" + payload, payload
    assert got["|calc"] == "|calc" and got["u1"] == "u1"  # not a formula start in any spreadsheet by itself
    assert (back["score"] == -0.5).all()  # numbers are not text: untouched
    assert back["band"].iloc[0] == "'=cmd"
