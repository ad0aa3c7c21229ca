"""Geometry for the inline SVG charts of the HTML reports: numbers and labels only.

The templates draw; this module only computes coordinates, so every piece of text still passes
through the template's autoescaping and no markup is built by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reports.model import parse_time


def _nice_max(v: float) -> float:
    """The smallest of 4, 8, 12, 16, 20, 40, 80, ... at least ``v`` (quarters stay whole)."""
    k = 1
    while True:
        for m in (4, 8, 12, 16, 20):
            if v <= m * k:
                return float(m * k)
        k *= 10


def bars(rows: list[dict[str, Any]], width: int = 640, bar_h: int = 22, gap: int = 8,
         label_w: int = 190) -> dict[str, Any]:
    """Horizontal bars of percentages: rows of ``{label, value (0-100 or None), note}``."""
    plot_w = width - label_w - 70
    out = []
    for i, r in enumerate(rows):
        v = r.get("value")
        y = 10 + i * (bar_h + gap)
        w = 0.0 if v is None else max(0.0, min(100.0, float(v))) * plot_w / 100.0
        out.append({"label": r["label"], "y": y, "ty": y + bar_h * 0.7, "w": round(w, 1),
                    "value": "n/a" if v is None else f"{v:g}%", "note": r.get("note", ""),
                    "tone": "none" if v is None else "good" if v >= 90 else
                    "warn" if v >= 60 else "bad"})
    return {"width": width, "height": 20 + len(rows) * (bar_h + gap), "label_w": label_w,
            "plot_w": plot_w, "bar_h": bar_h, "rows": out,
            "ticks": [{"x": round(label_w + plot_w * t / 100, 1), "label": f"{t}%"}
                      for t in (0, 25, 50, 75, 100)]}


def _xscale(times: list[datetime], x0: float, x1: float) -> Any:
    lo = min(times).timestamp()
    hi = max(times).timestamp()
    span = hi - lo or 1.0

    def x(t: datetime) -> float:
        if hi == lo:
            return round((x0 + x1) / 2, 1)
        return round(x0 + (t.timestamp() - lo) / span * (x1 - x0), 1)
    return x


def _date_ticks(times: list[datetime], x: Any, n: int = 6) -> list[dict[str, Any]]:
    """Up to ``n`` ticks, each label once: dates (with the year for spans of a year or more),
    or times of day when everything falls within two days (the date written where it changes),
    so scans that share a day never repeat one date along the axis. The first and last labels
    are anchored inside the plot so that they are never cut off."""
    if not times:
        return []
    lo, hi = min(times), max(times)
    if lo == hi:
        return [{"x": x(lo), "label": f"{lo.day} {lo:%b %Y}", "anchor": "middle"}]
    span = hi - lo
    hours = span.days < 2
    n = min(n, 4) if hours else max(2, min(n, len({t.date() for t in times})))
    step = span / (n - 1)
    ticks: list[dict[str, Any]] = []
    last_day = None
    last = ""
    for i in range(n):
        t = lo + step * i
        # the moment a label names (scans minutes apart: "7 Dec 13:10" then "13:10" is one)
        moment = f"{t:%Y-%m-%d %H:%M}" if hours else ""
        if hours:
            text = f"{t:%H:%M}" if t.date() == last_day else f"{t.day} {t:%b %H:%M}"
            last_day = t.date()
        else:
            text = f"{t.day} {t:%b}" if span.days < 300 else f"{t:%b %Y}"
        if ticks and (moment or text) == last:
            continue
        last = moment or text
        ticks.append({"x": x(t), "label": text, "anchor": "middle"})
    ticks[0]["anchor"] = "start"
    if len(ticks) > 1:
        ticks[-1]["anchor"] = "end"
    return ticks


def lines(series: list[dict[str, Any]], width: int = 640, height: int = 200,
          y_max: float | None = None, percent: bool = False) -> dict[str, Any]:
    """Line chart: ``series`` of ``{name, tone, points: [(iso time, value | None)]}``."""
    left, right, top, bottom = 48, 28, 12, 28
    times = [t for s in series for t in (parse_time(p[0]) for p in s["points"]) if t]
    values = [float(p[1]) for s in series for p in s["points"] if p[1] is not None]
    if not times:
        return {"empty": True, "width": width, "height": height}
    top_v = 100.0 if percent else _nice_max(max(values, default=0.0) if y_max is None
                                            else y_max)
    x = _xscale(times, left, width - right)

    def y(v: float) -> float:
        return round(top + (1 - v / top_v) * (height - top - bottom), 1)
    drawn = []
    for s in series:
        pts = []
        for t_text, v in s["points"]:
            t = parse_time(t_text)
            if t is not None and v is not None:
                pts.append((x(t), y(float(v))))
        if not pts:
            continue
        drawn.append({
            "name": s["name"], "tone": s.get("tone", "a"),
            "polyline": " ".join(f"{a},{b}" for a, b in pts),
            "area": (f"M{pts[0][0]},{y(0)} " + " ".join(f"L{a},{b}" for a, b in pts)
                     + f" L{pts[-1][0]},{y(0)} Z"),
            "dots": [{"x": a, "y": b} for a, b in pts] if len(pts) <= 60 else [],
            "last": {"x": pts[-1][0], "y": pts[-1][1]},
        })
    yticks = [{"y": y(top_v * f), "label": (f"{top_v * f:g}%" if percent else f"{top_v * f:g}")}
              for f in (0, 0.25, 0.5, 0.75, 1)]
    return {"empty": False, "width": width, "height": height, "left": left,
            "right": width - right, "top": top, "bottom": height - bottom,
            "series": drawn, "yticks": yticks, "xticks": _date_ticks(times, x)}


def timeline(rows: list[dict[str, Any]], start: str, end: str, width: int = 720,
             row_h: int = 26, label_w: int = 150) -> dict[str, Any]:
    """Rows of ``{label, marks: [{at, kind, proactive, title}]}`` on one time axis."""
    t0, t1 = parse_time(start), parse_time(end)
    if t0 is None or t1 is None:
        return {"empty": True, "rows": []}
    x = _xscale([t0, t1], label_w + 6, width - 30)
    out = []
    for i, r in enumerate(rows):
        y = 8 + i * row_h
        marks = []
        for m in r["marks"]:
            t = parse_time(m["at"])
            if t is None or not (t0 <= t <= t1):
                continue
            marks.append({**m, "x": x(t), "y": y + row_h / 2})
        out.append({"label": r["label"], "y": y, "ty": y + row_h * 0.65, "mid": y + row_h / 2,
                    "marks": marks})
    return {"empty": False, "width": width, "height": 36 + len(rows) * row_h,
            "label_w": label_w, "rows": out, "x0": label_w + 6, "x1": width - 30,
            "axis_y": 14 + len(rows) * row_h,
            "xticks": [{**t, "label": t["label"]} for t in _date_ticks([t0, t1], x)]}
