"""Progress as pictures: the weekly team chart (beside the leaderboard post, `mlpath team --png`) and a member's
own chart (App Home, the terminal's `/progress --png`).

Rendered with matplotlib's Agg backend through `Figure` objects (no pyplot, no display, no global figure state),
at a fixed size and dpi, without the PNG's "Software" metadata: the same data gives the same bytes. Text is
plain (no emoji: the bundled DejaVu font has none), large enough to read on a phone. The data classes are filled
by `Progress.team_chart` and `Mentoring.member_chart`; this module only draws.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 120
TEAM_SIZE = (6.0, 9.0)
"""Inches: 720 x 1080 pixels, a phone screen's shape."""
MEMBER_SIZE = (6.0, 4.0)
"""720 x 480 pixels."""
NAMED = 8
"""Members named per panel of the team chart (the top of the week's board)."""
LEVEL_COLOURS = {1: "#4C78A8", 2: "#F58518", 3: "#54A24B", 4: "#B279A2"}
_LOCK = threading.Lock()
"""matplotlib's font cache and text layout are shared: one rendering at a time per process."""


@dataclass(frozen=True)
class TeamChartRow:
    name: str
    xp: int
    xp_last: int
    streak: int
    mastered: int
    """Topics first mastered this week."""


@dataclass(frozen=True)
class TeamChart:
    """A team's week: members per level (everyone active counts), the named rows (never an opted-out member),
    and the team's topics mastered this week and the week before."""

    week: str
    levels: tuple[int, int, int, int]
    rows: tuple[TeamChartRow, ...]
    mastered: int
    mastered_last: int

    def alt_text(self) -> str:
        levels = ", ".join(f"Level {i + 1}: {n}" for i, n in enumerate(self.levels))
        top = "; ".join(f"{r.name} {r.xp} XP (last week {r.xp_last}), streak {r.streak}" for r in self.rows[:3])
        return (f"mlpath week {self.week}. Members per level: {levels}. Topics mastered: {self.mastered} this week, "
                f"{self.mastered_last} the week before." + (f" Top: {top}." if top else ""))[:1000]


@dataclass(frozen=True)
class MemberChart:
    """A member's topics mastered over time per level, and the plan's expected pace on their current level."""

    today: date
    start: date
    mastered: dict[int, list[date]] = field(default_factory=dict)
    """Level → the local dates topics of it were first mastered."""
    level: int = 1
    level_total: int = 0
    """Topics of the current level (the pace line's target)."""
    level_start: date | None = None
    pace_months: float = 0.0
    """The current level's expected duration at the member's hours (the middle of the plan's range)."""

    def alt_text(self) -> str:
        done = ", ".join(f"Level {lvl}: {len(days)}" for lvl, days in sorted(self.mastered.items()) if days)
        pace = (f" The plan expects Level {self.level}'s {self.level_total} topics in about {self.pace_months:.0f} "
                "months." if self.pace_months and self.level_total else "")
        return f"Topics mastered since {self.start:%d %b %Y}: {done or 'none yet'}.{pace}"


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def render_team(chart: TeamChart) -> bytes:
    with _LOCK:
        fig = Figure(figsize=TEAM_SIZE, dpi=DPI, layout="constrained")
        fig.suptitle(f"mlpath week {chart.week}", fontsize=15, fontweight="bold")
        ax_levels, ax_xp, ax_streak, ax_mastered = fig.subplots(4, 1, height_ratios=[2, 3, 3, 3])
        levels = [f"Level {i}" for i in range(1, 5)]
        bars = ax_levels.bar(levels, chart.levels, color=[LEVEL_COLOURS[i] for i in range(1, 5)])
        ax_levels.bar_label(bars, fontsize=11)
        ax_levels.set_title("Members per level", fontsize=12, loc="left")
        ax_levels.set_yticks([])
        ax_levels.set_ylim(0, max(chart.levels or (0,)) * 1.3 + 1)
        rows = list(chart.rows[:NAMED])[::-1]  # the top of the board at the top
        names = [r.name[:18] for r in rows]
        ys = list(range(len(rows)))
        ax_xp.barh([y + 0.2 for y in ys], [r.xp for r in rows], height=0.4, color="#4C78A8", label="this week")
        ax_xp.barh([y - 0.2 for y in ys], [r.xp_last for r in rows], height=0.4, color="#BAB0AC", label="last week")
        ax_xp.set_title("XP this week against last", fontsize=12, loc="left")
        ax_streak.barh(ys, [r.streak for r in rows], color="#E45756")
        ax_streak.set_title("Streak (days)", fontsize=12, loc="left")
        ax_mastered.barh(ys, [r.mastered for r in rows], color="#54A24B")
        ax_mastered.set_title(f"Topics mastered this week (team: {chart.mastered}, week before: "
                              f"{chart.mastered_last})", fontsize=12, loc="left")
        for ax in (ax_xp, ax_streak, ax_mastered):
            ax.set_yticks(ys, names, fontsize=11)
            ax.tick_params(axis="x", labelsize=10)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.spines[["top", "right"]].set_visible(False)
            if not rows:
                ax.text(0.5, 0.5, "no activity this week", ha="center", va="center", transform=ax.transAxes)
        if rows:
            ax_xp.legend(fontsize=10, loc="lower right")
        ax_levels.spines[["top", "right", "left"]].set_visible(False)
        return _png(fig)


def render_member(chart: MemberChart) -> bytes:
    with _LOCK:
        fig = Figure(figsize=MEMBER_SIZE, dpi=DPI, layout="constrained")
        ax = fig.subplots()
        start = min([chart.start, *(d for days in chart.mastered.values() for d in days)])
        end = max(chart.today, start + timedelta(days=7))
        for level in range(1, 5):
            days = sorted(chart.mastered.get(level, []))
            if not days:
                continue
            xs = [start, *days, end]
            ys = [0, *range(1, len(days) + 1), len(days)]
            ax.step(date2num(xs), ys, where="post", color=LEVEL_COLOURS[level], linewidth=2.5, label=f"Level {level}")
        if chart.level_start is not None and chart.pace_months > 0 and chart.level_total:
            pace_end = chart.level_start + timedelta(days=round(chart.pace_months * 30.44))
            reach = min(end, pace_end)
            span = max(1, (pace_end - chart.level_start).days)
            expected = chart.level_total * (reach - chart.level_start).days / span
            ax.plot(date2num([chart.level_start, reach]), [0, expected], linestyle="--",
                    color=LEVEL_COLOURS[chart.level], linewidth=1.5, label=f"plan's pace, Level {chart.level}")
        ax.set_title("Topics mastered", fontsize=13, loc="left")
        ax.xaxis_date()
        ax.set_xlim(float(date2num(start)), float(date2num(end)))
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=10)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
        ax.spines[["top", "right"]].set_visible(False)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=10, loc="upper left")
        else:
            ax.text(0.5, 0.5, "nothing mastered yet", ha="center", va="center", transform=ax.transAxes)
        fig.autofmt_xdate()
        return _png(fig)
