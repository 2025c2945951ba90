"""The evaluation protocol in one paragraph (zh / en), from a training-set manifest: the purge
gaps, the validation and test cutoffs, and how the intervals were made."""

from __future__ import annotations

from typing import Literal


def protocol_text(manifest: dict, n_boot: int, lang: Literal["zh", "en"] = "en") -> str:
    """One paragraph on how the held-out numbers were made; '' for a manifest without cutoffs."""
    cuts = manifest.get("cutoffs") or {}
    if not cuts.get("test"):
        return ""
    purge = manifest.get("purge") or {}
    horizon = purge.get("horizon_days", manifest.get("horizon_days", "?"))
    gap_tv, gap_vt = purge.get("train_valid_gap_days", "?"), purge.get("valid_test_gap_days", "?")
    test, n_valid = cuts["test"], len(cuts.get("valid", []))
    if lang == "zh":
        return (f"训练、验证、测试三段按 {horizon} 天的标签窗口隔开(purge):训练样本的标签在第一个验证截点前结束"
                f"(间隔 {gap_tv} 天),验证样本的标签在第一个测试截点前结束(间隔 {gap_vt} 天)。早停、校准、调参和"
                f"模型选择只看验证集({n_valid} 个截点);{len(test)} 个测试截点({'、'.join(test)})只在选定之后评分一次,"
                f"指标按全部截点合并并逐截点给出,95% 区间来自按用户的 {n_boot} 次自助重抽样(同一用户在各截点的样本一起抽取)。")
    return (f"Splits are purged by the {horizon}-day label window: every training label ends before the first "
            f"validation cutoff (gap {gap_tv} d) and every validation label before the first test cutoff "
            f"(gap {gap_vt} d). Early stopping, calibration, tuning and the choice of model read validation only "
            f"({n_valid} cutoffs); the {len(test)} test cutoffs ({', '.join(test)}) are scored once, after every "
            f"choice, and reported pooled and per cutoff, with 95 % intervals from {n_boot} bootstrap resamples of "
            "users (a user's rows at every cutoff move together).")
