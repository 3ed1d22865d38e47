"""The one place where training-catalog words are given an order.

Vendors name course levels their own way (Associate/Professional/Expert, Foundational/Specialty,
Entry/Intermediate/Advanced, ...). The loader keeps every descriptive value (level, format, role,
duration) exactly as written, because that is what partners read and what the catalog means. Only
where the recommender needs an *order* (a cheaper, earlier course first on a tie) is a level mapped
to a rank, through :data:`LEVEL_RANKS` below. A level that is not listed keeps its text, gets no
rank (the recommender treats it as unranked, i.e. like the lowest), and the ingest summary warns
about it so an operator can add the synonym here.

Ranks (lowest first):

- 0 entry: foundation, foundational, fundamentals, entry, beginner, basic, introductory
- 1 associate: associate, intermediate, practitioner
- 2 professional: professional, advanced, specialist, specialty
- 3 expert: expert, master, architect
"""

from __future__ import annotations

LEVEL_RANKS: dict[str, int] = {
    **dict.fromkeys(
        ("foundation", "foundational", "fundamentals", "entry", "entry-level", "beginner",
         "basic", "introductory"),
        0,
    ),
    **dict.fromkeys(("associate", "intermediate", "practitioner"), 1),
    **dict.fromkeys(("professional", "advanced", "specialist", "specialty"), 2),
    **dict.fromkeys(("expert", "master", "architect"), 3),
}  # fmt: skip


def level_rank(level: str | None) -> int | None:
    """The rank of a course level as written (case- and space-insensitive), None when unknown."""
    if not level:
        return None
    return LEVEL_RANKS.get(" ".join(level.lower().split()))
