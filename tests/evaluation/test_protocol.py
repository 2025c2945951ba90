"""The protocol paragraph names the purge gaps, the test cutoffs and the interval method."""

from siyu.evaluation import protocol_text

MANIFEST = {"horizon_days": 30, "cutoffs": {"train": ["2025-01-06"], "valid": ["2025-02-10", "2025-02-17"],
                                            "test": ["2025-03-24", "2025-03-31"]},
            "purge": {"horizon_days": 30, "train_valid_gap_days": 35, "valid_test_gap_days": 35}}


def test_protocol_in_both_languages():
    en = protocol_text(MANIFEST, 500, "en")
    assert "purged by the 30-day label window" in en and "gap 35 d" in en
    assert "2 test cutoffs (2025-03-24, 2025-03-31)" in en and "500 bootstrap resamples of users" in en
    zh = protocol_text(MANIFEST, 500, "zh")
    assert "30 天的标签窗口" in zh and "2025-03-24、2025-03-31" in zh and "500 次" in zh


def test_no_cutoffs_no_paragraph():
    assert protocol_text({}, 500) == ""
