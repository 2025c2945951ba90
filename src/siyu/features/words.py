"""The zh / en words feature descriptions are made of (GLOSSARY.md terms). Unknown vocabulary
(a brand's own event types or channels) reads as itself."""

from __future__ import annotations

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
    "refund": "退款", "campaign_contact": "营销触达", "coupon_push": "优惠券推送",
}
ATTRIBUTES_ZH = {"source_channel": "来源渠道", "member_level": "会员等级", "region": "地区", "age_band": "年龄段"}


def what(role: str, event_type: str | None, channel: str | None) -> tuple[str, str]:
    """(zh, en) for the events a spec selects: "企业微信营销触达" / "campaign contacts on WeCom"."""
    zh = EVENT_TYPES_ZH.get(event_type, event_type) if event_type else ROLES_ZH[role]
    en = event_type.replace("_", " ") + " events" if event_type else ROLES_EN[role]
    if channel:
        zh = f"{CHANNELS_ZH.get(channel, channel)}{zh}"
        en = f"{en} on {CHANNELS_EN.get(channel, channel)}"
    return zh, en
