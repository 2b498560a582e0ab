"""Shared vocabulary of the shop domain: coupon types, campaign modes, buyer segments."""

from enum import StrEnum


class CouponType(StrEnum):
    """The five Pinduoduo store-coupon types (seed 003)."""

    THRESHOLD = "threshold"  # 满减: spend at least X, get Y off
    PERCENT = "percent"  # 折扣: percent off
    NO_THRESHOLD = "no_threshold"  # 无门槛: Y off any order
    SHARE = "share"  # 分享裂变: both sharer and friend get Y off
    FOLLOW = "follow"  # 关注: Y off for following the shop

    @property
    def counts_toward_lowest_price(self) -> bool:
        """Whether post-coupon prices under this type enter the 30-day lowest price.

        Follow, share and customer-service coupons do not count (seed 003).
        """
        return self not in (CouponType.SHARE, CouponType.FOLLOW)


class CampaignMode(StrEnum):
    """How an ad campaign buys traffic."""

    SEARCH = "search"  # per-click bid on search traffic (直通车)
    WHOLE_SITE = "whole_site"  # one target ROI for all placements (全站推)


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class Segment(StrEnum):
    """Buyer segments used for coupon targeting (seed 002, 000)."""

    NEW = "new"
    DORMANT = "dormant"
    HIGH_VALUE = "high_value"
    CHURN_RISK = "churn_risk"
    PRICE_SENSITIVE = "price_sensitive"


class ActionKind(StrEnum):
    """Everything the agent may ask the platform to do."""

    SET_BID = "set_bid"
    SET_BUDGET = "set_budget"
    SET_CAMPAIGN_STATUS = "set_campaign_status"
    SET_CAMPAIGN_MODE = "set_campaign_mode"
    CREATE_COUPON = "create_coupon"
    STOP_COUPON = "stop_coupon"
