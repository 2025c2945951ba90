"""The synthetic owned-audience world, with exact ground truth (`siyu generate`).

The model
---------
Users join over the world's days (an imported base in the first two weeks, then steady
acquisition that rises on shopping festivals) through a source channel (official_account,
group, mini_program, wecom, live, store), with a member level, region and age band, and
fake PII (a Chinese name, a 138xxxxxxxx phone number). Each user carries latent traits: a
segment (loyal / regular / fickle, depending on the source channel), an interaction and a
purchase multiplier (correlated lognormals; member level follows the purchase multiplier
with noise), a basket level (lognormal amounts, a favourite category) and a contact uplift
(most users none; responders some; "persuadables" buy little on their own and mostly when
contacted).

Engagement is a hidden Markov chain over the states engaged / casual / dormant / lapsed,
with daily transition probabilities per segment: disengagement makes lapsing more likely,
and dormant or lapsed users come back with small probabilities. So propensities drift over
time and churn is a hazard that grows with disengagement. On day d, a user in state k has

- interactions ~ Poisson(m_act * a_k * interaction_factor_d), typed by a per-state mix
  (msg_open, article_read, group_msg, check_in, share, live_view, mini_program_visit,
  add_cart, coupon_claim, service_contact) in the channels that carry each type;
- purchases ~ Poisson(m_buy * b_k * purchase_factor_d), lognormal amounts in CNY, with an
  add_cart of the same item and a coupon_claim then coupon_redeem earlier the same day for a
  share of them; a share is refunded 1..14 days later (negative amount, same item);
- on a campaign day, a contact (campaign_contact, role contact, not activity) with
  probability q_d; a contact is opened (msg_open / group_msg) with a per-state probability
  and adds Poisson(uplift * u_k) purchases.

Calendar factors are deterministic: weekday, a yearly season, Chinese New Year (a shopping
rush, then a quiet week) and the festivals 38, 520, 618 (with its warm-up), 双11 (with its
pre-sale) and 双12. Times of day follow per-type hour profiles (naive local time,
Asia/Shanghai); on the join day events come after the join time.

Ground truth at every Monday cutoff C (from start + 28 d to the end) for users joined
before C is computed from the state on day C by a forward recursion of the chain (see
`siyu.synth.truth`), with exactly the labels of docs/INTERFACES.md §3: P(no activity in
[C, C+30d)), P(a purchase in [C, C+7d)), E[net spend in [C, C+90d)]. It is exact, not a
Monte-Carlo estimate: it includes contacts, refunds and the calendar.

Everything is vectorized with numpy (loops run over days or chunks of users only) and
deterministic for a seed; users are simulated in fixed-size chunks, so memory stays bounded.
"""

from siyu.synth.params import (
    CampaignParams,
    CommerceParams,
    JoinParams,
    StateParams,
    UserParams,
    WorldParams,
)
from siyu.synth.simulate import EventBatch
from siyu.synth.truth import TruthBatch
from siyu.synth.world import WorldChunk, WorldPlan, plan_world, simulate_world

__all__ = [
    "CampaignParams",
    "CommerceParams",
    "EventBatch",
    "JoinParams",
    "StateParams",
    "TruthBatch",
    "UserParams",
    "WorldChunk",
    "WorldParams",
    "WorldPlan",
    "plan_world",
    "simulate_world",
]
