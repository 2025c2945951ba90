"""Words operators read, in Chinese and English (GLOSSARY.md): channels, stages, segments, bands."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

CHANNELS = MappingProxyType({
    "official_account": ("公众号", "official account"),
    "group": ("社群", "group chat"),
    "mini_program": ("小程序", "mini program"),
    "wecom": ("企业微信", "WeCom"),
    "live": ("直播", "live stream"),
    "app": ("自有 APP", "app"),
    "store": ("线下门店", "store"),
})

LIFECYCLE_STAGES = MappingProxyType({
    "potential": ("潜在用户", "potential"),
    "new": ("新用户", "new"),
    "active": ("活跃用户", "active"),
    "silent": ("沉默用户", "silent"),
    "churned": ("流失用户", "churned"),
})

RFM_SEGMENTS = MappingProxyType({
    "champions": ("重要价值用户", "champions"),
    "loyal": ("重要保持用户", "loyal"),
    "potential": ("重要发展用户", "potential loyalist"),
    "at_risk": ("重要挽留用户", "at risk"),
    "promising": ("一般发展用户", "promising"),
    "hibernating": ("沉睡用户", "hibernating"),
    "no_purchase": ("未消费用户", "no purchase yet"),
})

BANDS = MappingProxyType({
    "high": ("高", "high"),
    "medium": ("中", "medium"),
    "low": ("低", "low"),
    "hot": ("高意向", "hot"),
    "warm": ("中意向", "warm"),
    "cold": ("低意向", "cold"),
})

TAGS = MappingProxyType({
    "churn_risk": ("流失风险", "churn risk"),
    "purchase_intent": ("购买意向", "purchase intent"),
    "ltv_tier": ("价值等级", "LTV tier"),
    "lifecycle_stage": ("用户生命周期", "lifecycle stage"),
    "rfm_segment": ("RFM 分层", "RFM segment"),
})

# What a task predicts, by its label kind (siyu.config.TaskLabel); the horizon is added by `task_title`.
TASK_LABELS = MappingProxyType({
    "no_activity": ("流失预测", "churn"),
    "any_activity": ("回访预测", "return"),
    "any_purchase": ("购买意向", "purchase intent"),
    "net_spend": ("用户生命周期价值", "lifetime value"),
})

# Categorical feature -> its value vocabulary; other categoricals show their value as given.
CATEGORY_VALUES = MappingProxyType({
    "lifecycle_stage": LIFECYCLE_STAGES,
    "rfm_segment": RFM_SEGMENTS,
    "source_channel": CHANNELS,
    "channel": CHANNELS,
})


def word(table: MappingProxyType, key: object, lang: Lang) -> str:
    """`key` in `lang` from a vocabulary table; the key itself when the table does not know it."""
    pair = table.get(str(key))
    if pair is None:
        return str(key)
    return pair[0] if lang == "zh" else pair[1]


def task_title(label: str, horizon_days: int, lang: Lang) -> str:
    """'流失预测 (未来 15 天)' / 'churn (next 15 days)': what a task predicts, over which horizon."""
    what = word(TASK_LABELS, label, lang)
    return f"{what} (未来 {horizon_days} 天)" if lang == "zh" else f"{what} (next {horizon_days} days)"


def check_lang(lang: str) -> Lang:
    """`lang` if it is a supported language, else a ValueError saying which are."""
    if lang not in LANGS:
        raise ValueError(f"lang: expected one of {list(LANGS)}, got {lang!r}")
    return lang  # type: ignore[return-value]
