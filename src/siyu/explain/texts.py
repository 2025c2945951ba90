"""The report's own words, in Chinese and English (terms from GLOSSARY.md)."""

from __future__ import annotations

from types import MappingProxyType

from siyu.explain.vocab import Lang, check_lang

_TEXT = {
    "title": ("用户洞察报告", "User insight report"),
    "lang_attr": ("zh-CN", "en"),
    "generated_for": ("评分日期", "Scored as of"),
    "model": ("模型", "Model"),
    "version": ("版本", "version"),
    "users": ("用户数", "users"),
    "summary": ("概览", "Summary"),
    "summary_text": ("本报告说明模型为每位用户打出的标签、驱动高风险的主要因素，以及每位用户的具体原因。用户以匿名编号标识，不含任何个人信息。",
                     "This report shows the tags the model gave each user, what drives each band, and the reasons "
                     "for individual users. Users appear by pseudonymous id only; no personal information is included."),
    "band_section": ("标签分布", "Tag distribution"),
    "band_chart": ("各等级用户数", "Users per band"),
    "band": ("等级", "Band"),
    "share": ("占比", "Share"),
    "mean_score": ("平均得分", "Mean score"),
    "play": ("建议动作", "What to do"),
    "card_link_text": ("模型指标、全局重要性与特征清单在数据科学家的模型卡中:",
                       "Metrics, what matters overall and the feature list are in the data scientists' model card:"),
    "shap_x": ("对得分的影响 (SHAP 值)", "effect on the score (SHAP value)"),
    "shap_y": ("对得分的影响", "effect on the score"),
    "feature_value": ("因素取值", "feature value"),
    "high": ("高", "high"),
    "low": ("低", "low"),
    "others": ("其余 {n} 个因素之和", "{n} other features combined"),
    "value": ("取值", "Value"),
    "drivers_section": ("各等级的主要驱动因素", "What drives each band"),
    "drivers_text": ("下表列出在每个等级中把得分推高最多的因素 (平均 SHAP 值)，以及该等级用户的典型取值与全体用户的对比。",
                     "For each band, the factors that push the score up most (mean SHAP value), with the band's "
                     "typical value next to all users'."),
    "factor": ("因素", "Factor"),
    "effect": ("平均影响", "Mean effect"),
    "typical": ("本等级典型值", "Typical in band"),
    "typical_all": ("全体典型值", "Typical, all users"),
    "no_drivers": ("该等级没有推高得分的因素。", "Nothing pushes this band's score up."),
    "examples_section": ("示例用户及原因", "Example users and their reasons"),
    "user": ("用户编号", "User id"),
    "score": ("得分", "Score"),
    "reasons": ("主要原因", "Main reasons"),
    "global_section": ("全局重要性", "What matters overall"),
    "global_text": ("每个点是一位用户：横轴为该因素对得分的影响 (向右表示推高)，颜色为该因素的取值 (红高蓝低)。",
                    "Each dot is one user: the x axis is the factor's effect on the score (right pushes it up), "
                    "the colour is the factor's value (red high, blue low)."),
    "importance": ("平均绝对 SHAP 值", "Mean absolute SHAP"),
    "dependence": ("主要因素的取值与影响", "How the top factors act"),
    "performance_section": ("模型在最近一个留出期的表现", "How the model did on the last held-out period"),
    "period": ("留出期", "Held-out period"),
    "metric": ("指标", "Metric"),
    "no_metrics": ("没有可用的留出期指标。", "No held-out metrics available."),
    "model_card": ("模型卡 (数据科学)", "Model card (for data scientists)"),
    "run": ("MLflow 运行", "MLflow run"),
    "data_window": ("数据窗口", "Data window"),
    "leaderboard": ("与基线及理论上限 (oracle) 对比", "Against baselines and the oracle"),
    "features": ("特征", "Features"),
    "feature": ("特征名", "Feature"),
    "family": ("类别", "Family"),
    "unit": ("单位", "Unit"),
    "description": ("说明", "Description"),
    "calibration": ("校准曲线", "Calibration"),
    "predicted": ("平均预测值", "Mean predicted"),
    "observed": ("实际发生率", "Observed rate"),
    "intended_use": ("用途与限制", "Intended use and limits"),
    "intended_use_text": ("用于运营触达的优先级排序 (例如召回活动、关怀消息、优惠券)，不用于对个人作出重大决定。"
                          "模型基于历史互动学习，渠道或活动策略变化后需重新训练并复核。",
                          "For prioritising outreach (win-back campaigns, care messages, coupons), not for "
                          "consequential decisions about a person. The model learns from past interactions: retrain "
                          "and review it after channel or campaign changes."),
    "privacy": ("个人信息 (姓名、手机号等) 从不作为特征，也不出现在本报告中。",
                "Personal information (names, phone numbers, ...) is never a feature and never appears here."),
}


def report_text(lang: Lang) -> MappingProxyType:
    """All of the report's fixed wording in `lang`."""
    column = 0 if check_lang(lang) == "zh" else 1
    return MappingProxyType({key: pair[column] for key, pair in _TEXT.items()})
