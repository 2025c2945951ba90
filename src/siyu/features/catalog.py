"""The feature catalogue: name, family, dtype, unit and a zh / en description per column."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from siyu.features.parse import feature_specs_data
from siyu.features.specs import (
    AOV,
    RFM,
    RFM_COLUMNS,
    ActiveDays,
    Attribute,
    CampaignResponse,
    CouponRate,
    Distinct,
    FeatureSet,
    FeatureSpec,
    FirstPurchase,
    InterPurchase,
    Lifecycle,
    Recency,
    RefundShare,
    Share,
    Tenure,
    Trend,
    Window,
    family_of,
    spec_params,
)

# GLOSSARY.md terms.
CHANNELS_ZH = {
    "official_account": "公众号", "group": "社群", "mini_program": "小程序", "wecom": "企业微信",
    "live": "直播", "app": "自有APP", "store": "线下门店",
}
CHANNELS_EN = {
    "official_account": "official account", "group": "group chat", "mini_program": "mini program",
    "wecom": "WeCom", "live": "live stream", "app": "app", "store": "store",
}
ROLES_ZH = {
    "any": "事件", "activity": "活跃行为", "spend": "消费与退款", "purchase": "购买", "refund": "退款",
    "interaction": "互动", "contact": "营销触达", "other": "其他事件",
}
ROLES_EN = {
    "any": "events", "activity": "activity events", "spend": "purchases and refunds", "purchase": "purchases",
    "refund": "refunds", "interaction": "interactions", "contact": "campaign contacts", "other": "other events",
}
EVENT_TYPES_ZH = {
    "msg_open": "消息打开", "article_read": "文章阅读", "group_msg": "群内发言", "check_in": "签到",
    "share": "分享", "live_view": "直播观看", "mini_program_visit": "小程序访问", "add_cart": "加购",
    "coupon_claim": "领券", "coupon_redeem": "用券", "service_contact": "客服咨询", "purchase": "购买",
    "refund": "退款", "campaign_contact": "营销触达",
}
DAYPARTS_ZH = {"night": "凌晨(0-6点)", "morning": "上午(6-12点)", "afternoon": "下午(12-18点)", "evening": "晚间(18-24点)"}
WEEKDAYS_ZH = {"mon": "周一", "tue": "周二", "wed": "周三", "thu": "周四", "fri": "周五", "sat": "周六", "sun": "周日"}
WEEKDAYS_EN = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
               "sat": "Saturday", "sun": "Sunday"}
ATTRIBUTES_ZH = {"source_channel": "来源渠道", "member_level": "会员等级", "region": "地区", "age_band": "年龄段"}


@dataclass(frozen=True)
class FeatureInfo:
    """One feature column as reports and explanations see it."""

    name: str
    family: str
    dtype: Literal["numeric", "categorical"]
    unit: Literal["days", "count", "amount", "ratio", "share", "category"]
    desc_zh: str
    desc_en: str
    params: dict[str, Any] = field(default_factory=dict)


def _what(role: str, event_type: str | None, channel: str | None) -> tuple[str, str]:
    zh = EVENT_TYPES_ZH.get(event_type, event_type) if event_type else ROLES_ZH[role]
    en = event_type.replace("_", " ") + " events" if event_type else ROLES_EN[role]
    if channel:
        zh = f"{CHANNELS_ZH.get(channel, channel)}{zh}"
        en = f"{en} on {CHANNELS_EN.get(channel, channel)}"
    return zh, en


def _info(spec: FeatureSpec) -> list[tuple[str, str, str, str, str]]:  # noqa: C901 - one dispatch table
    """(name, dtype, unit, zh, en) per output column."""
    n = spec.name
    if isinstance(spec, Recency):
        zh, en = _what(spec.role, spec.event_type, spec.channel)
        return [(n, "numeric", "days", f"距最近一次{zh}的天数", f"days since the last {en}")]
    if isinstance(spec, Window):
        zh, en = _what(spec.role, spec.event_type, spec.channel)
        if spec.agg == "count":
            return [(n, "numeric", "count", f"近{spec.days}天{zh}次数", f"number of {en} in the last {spec.days} days")]
        return [(n, "numeric", "amount", f"近{spec.days}天{zh}金额", f"amount of {en} in the last {spec.days} days")]
    if isinstance(spec, ActiveDays):
        return [(n, "numeric", "count", f"近{spec.days}天活跃天数({ROLES_ZH[spec.role]})",
                 f"days with {ROLES_EN[spec.role]} in the last {spec.days} days")]
    if isinstance(spec, Distinct):
        zh = {"channel": "触点渠道", "category": "品类", "session": "会话"}[spec.column]
        return [(n, "numeric", "count", f"近{spec.days}天不同{zh}数",
                 f"distinct {spec.column}s of activity in the last {spec.days} days")]
    if isinstance(spec, Trend):
        return [(n, "numeric", "ratio", f"近{spec.days}天与之前{spec.days}天{ROLES_ZH[spec.role]}次数之比",
                 f"{ROLES_EN[spec.role]} in the last {spec.days} days / the {spec.days} days before")]
    if isinstance(spec, InterPurchase):
        zh = "平均" if spec.stat == "mean" else "标准差"
        return [(n, "numeric", "days", f"复购间隔天数{zh}", f"{spec.stat} days between consecutive purchases")]
    if isinstance(spec, Tenure):
        return [(n, "numeric", "days", "入会(成为已知用户)天数", "days since the user joined")]
    if isinstance(spec, FirstPurchase):
        return [(n, "numeric", "amount", "首单金额", "amount of the first purchase")]
    if isinstance(spec, AOV):
        return [(n, "numeric", "amount", f"近{spec.days}天客单价", f"average order value (AOV) in the last {spec.days} days")]
    if isinstance(spec, RefundShare):
        return [(n, "numeric", "ratio", f"近{spec.days}天退款金额占比", f"refunded share of purchase amount, last {spec.days} days")]
    if isinstance(spec, CouponRate):
        return [(n, "numeric", "ratio", f"近{spec.days}天用券率(用券/领券)", f"coupon redemption rate in the last {spec.days} days")]
    if isinstance(spec, CampaignResponse):
        if spec.stat == "count":
            return [(n, "numeric", "count", f"近{spec.days}天营销触达后{spec.within_days}天内的购买次数",
                     f"purchases within {spec.within_days} days after a campaign contact, last {spec.days} days")]
        return [(n, "numeric", "ratio", f"近{spec.days}天营销响应率", f"campaign response rate in the last {spec.days} days")]
    if isinstance(spec, Share):
        if spec.kind == "daypart":
            zh, en = DAYPARTS_ZH[spec.value], f"the {spec.value}"
        else:
            zh, en = WEEKDAYS_ZH[spec.value], WEEKDAYS_EN[spec.value]
        return [(n, "numeric", "share", f"近{spec.days}天{zh}活跃占比", f"share of activity in {en}, last {spec.days} days")]
    if isinstance(spec, Lifecycle):
        return [(n, "categorical", "category", "用户生命周期阶段", "lifecycle stage")]
    if isinstance(spec, RFM):
        zh = ["最近一次消费时间得分(R)", "消费频率得分(F)", "消费金额得分(M)", "RFM 分群"]
        en = ["recency score (R, 1-5)", "frequency score (F, 1-5)", "monetary score (M, 1-5)", "RFM segment"]
        return [
            (c, "categorical" if c == "rfm_segment" else "numeric", "category" if c == "rfm_segment" else "count", z, e)
            for c, z, e in zip(RFM_COLUMNS, zh, en, strict=True)
        ]
    if isinstance(spec, Attribute):
        zh = ATTRIBUTES_ZH.get(spec.column, spec.column)
        return [(n, "categorical", "category", f"用户属性:{zh}", f"user attribute: {spec.column.replace('_', ' ')}")]
    raise TypeError(f"not a feature spec: {spec!r}")


def feature_catalog(specs: FeatureSet) -> list[FeatureInfo]:
    """One FeatureInfo per feature column, in table order."""
    out = []
    for spec in specs:
        params = {k: v for k, v in spec_params(spec).items() if v is not None}
        for name, dtype, unit, zh, en in _info(spec):
            out.append(FeatureInfo(name, family_of(spec), dtype, unit, zh, en, params))  # type: ignore[arg-type]
    return out


def categorical_columns(specs: FeatureSet) -> list[str]:
    """Names of the categorical feature columns."""
    return [f.name for f in feature_catalog(specs) if f.dtype == "categorical"]


def feature_spec_hash(specs: FeatureSet) -> str:
    """A stable sha256 (16 hex) of the specs: same specs, same hash, across runs and machines."""
    payload = feature_specs_data(specs)["features"]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
