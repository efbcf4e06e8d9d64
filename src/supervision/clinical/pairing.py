"""The neurotype-match pair of each episode (domain.md §6): the group its client and
therapist fall in, from the canonical ``;``-joined tag strings.

``unknown``       either side has the tag ``unknown``;
``shared``        both neurodivergent (any of ``adhd, autistic, dyslexic, dyspraxic,
                  tourette, other_nd``) and sharing at least one of those tags;
``other_nd``      both neurodivergent, no tag shared;
``nd_therapist``  neurodivergent therapist, client not neurodivergent;
``nt_therapist``  therapist not neurodivergent, neurodivergent client;
``both_nt``       neither neurodivergent.

The lowest clinical module: every breakdown by ``group`` joins this, and the group figures
(:mod:`supervision.clinical.neurotype`) aggregate over it.  Tag tests are string tests on
``";" || tags || ";"``, portable to PostgreSQL and Spark.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from supervision.caseload import Caseload
from supervision.schema import ND_TAGS, TAG_SEPARATOR


def has_tag(tags: ir.StringValue, tag: str) -> ir.BooleanValue:
    """Whether a ``;``-joined tag string holds ``tag``."""
    wrapped = ibis.literal(TAG_SEPARATOR) + tags + ibis.literal(TAG_SEPARATOR)
    return wrapped.contains(f"{TAG_SEPARATOR}{tag}{TAG_SEPARATOR}")


def any_nd(tags: ir.StringValue) -> ir.BooleanValue:
    """Whether a tag string holds any neurodivergent tag."""
    out = has_tag(tags, ND_TAGS[0])
    for tag in ND_TAGS[1:]:
        out = out | has_tag(tags, tag)
    return out


def episode_pairs(cl: Caseload) -> ir.Table:
    """Every episode with both sides' tags and its neurotype-match ``group``.

    Returns
    -------
    ir.Table
        ``episode_id, therapist_id, client_neurotype, therapist_neurotype, group``.
    """
    e, t = cl.episodes, cl.therapists
    j = e.select("episode_id", "therapist_id", "client_neurotype").join(
        t.select("therapist_id", "therapist_neurotype"), "therapist_id"
    )
    c = j.client_neurotype.fill_null("unknown")
    th = j.therapist_neurotype.fill_null("unknown")
    c_nd, t_nd = any_nd(c), any_nd(th)
    shared = has_tag(c, ND_TAGS[0]) & has_tag(th, ND_TAGS[0])
    for tag in ND_TAGS[1:]:
        shared = shared | (has_tag(c, tag) & has_tag(th, tag))
    group = ibis.cases(
        (has_tag(c, "unknown") | has_tag(th, "unknown"), "unknown"),
        (c_nd & t_nd & shared, "shared"),
        (c_nd & t_nd, "other_nd"),
        (t_nd, "nd_therapist"),
        (c_nd, "nt_therapist"),
        else_="both_nt",
    )
    return j.select(
        "episode_id", "therapist_id", client_neurotype=c, therapist_neurotype=th, group=group
    )


__all__ = ["any_nd", "episode_pairs", "has_tag"]
