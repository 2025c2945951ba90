"""Behavioural segments: K-Means on standardized point-in-time features, K chosen by silhouette,
segments named by rules from their centroids (zh / en) and kept stable across refits."""

from siyu.segments.features import segment_features
from siyu.segments.model import SegmentModel, agreement, silhouette_table
from siyu.segments.naming import NAMES, NamingRule, SegmentName

__all__ = ["NAMES", "NamingRule", "SegmentModel", "SegmentName", "agreement", "segment_features", "silhouette_table"]
