"""Records matplotlib's default tick locations and labels into ticks.json beside this script.

The fixture of `tapegrad-runner`'s figure tests (crates/runner/src/figures): for each case a
line is plotted through (lo, lo) and (hi, hi) on a default axes (6.4 x 4.8 in at 100 dpi), or on
the axes of `plt.subplot(121)`, or on a figure of another size, and the visible ticks, their
labels and the offset text are recorded for both axes, with the axes' limits and length in
pixels. A `layout` entry records where matplotlib puts the axes box, tick labels, title and
axis labels of one default figure (pixels, origin at the top left), and `ink` the box of dark pixels (grey < 128) that its PNG has in
each of a few regions around those texts.

Run with a Python that has matplotlib (any 3.x): `python data/matplotlib/ticks.py`.
"""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RANGES = [
    (0, 10), (0, 1), (-3, 7), (0, 100), (1, 2), (-1, 1), (0, 49), (0, 9),
    (0.001, 0.002), (0, 3e7), (1000, 1001), (-0.5, 0.5), (2.1, 2.9), (0, 0.35),
    (-12.3, 45.6), (3, 1234), (-7.2, -6.1), (0.5, 50.5), (1e-6, 5e-6), (-250, 10),
    (0, 2.5), (4.9, 5.3), (-2, 2), (0, 1500),
]
LAYOUTS = [("default", None, None), ("subplot121", None, 121), ("figsize12x9", (12, 9), None),
           ("figsize3x2", (3, 2), None)]


def visible(axis, lim):
    """The ticks inside the view limits and their labels (matplotlib draws only those)."""
    lo, hi = sorted(lim)
    slack = 1e-9 * (hi - lo)
    pairs = zip(axis.get_majorticklocs(), axis.get_ticklabels())
    kept = [(float(t), label.get_text()) for t, label in pairs if lo - slack <= t <= hi + slack]
    return [t for t, _ in kept], [text for _, text in kept]


def case(layout, figsize, sub, lo, hi):
    fig = plt.figure(figsize=figsize) if figsize else plt.figure()
    ax = fig.add_subplot(sub) if sub else fig.add_subplot()
    ax.plot([lo, hi], [lo, hi])
    fig.canvas.draw()
    bbox = ax.get_window_extent()
    out = {"layout": layout, "data": [lo, hi]}
    for name, axis, lim, length in [
        ("x", ax.xaxis, ax.get_xlim(), bbox.width),
        ("y", ax.yaxis, ax.get_ylim(), bbox.height),
    ]:
        ticks, labels = visible(axis, lim)
        out[name] = {
            "lim": [float(v) for v in lim],
            "length_px": float(length),
            "ticks": ticks,
            "labels": labels,
            "offset": axis.get_offset_text().get_text(),
        }
    plt.close(fig)
    return out


def layout_record():
    fig = plt.figure()
    ax = fig.add_subplot()
    ax.plot([0, 10], [0, 10])
    ax.set_title("Title")
    ax.set_xlabel("xlabel")
    ax.set_ylabel("ylabel")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    height = fig.bbox.height

    def box(artist):
        b = artist.get_window_extent(renderer)
        return [b.x0, height - b.y1, b.x1, height - b.y0]

    return {
        "axes": box(ax),
        "xtick_labels": [box(t) for t in ax.get_xticklabels() if 0 <= t.get_position()[0] <= 10],
        "ytick_labels": [box(t) for t in ax.get_yticklabels() if 0 <= t.get_position()[1] <= 10],
        "title": box(ax.title),
        "xlabel": box(ax.xaxis.label),
        "ylabel": box(ax.yaxis.label),
        "xtick_lines": [[float(v) for v in ln.get_window_extent(renderer).extents]
                        for ln in ax.xaxis.get_ticklines()[:1]],
    }


INK_REGIONS = {
    "title": (250, 20, 400, 56),
    "xlabel": (250, 452, 400, 479),
    "ylabel": (0, 150, 48, 330),
    "xtick_0": (90, 433, 115, 452),
    "ytick_10": (40, 60, 76, 90),
}


def ink_record():
    """The ink boxes (x0, y0, x1, y1 inclusive) of the layout figure's PNG in INK_REGIONS."""
    import io

    import numpy as np
    from PIL import Image

    fig = plt.figure()
    ax = fig.add_subplot()
    ax.plot([0, 10], [0, 10])
    ax.set_title("Title")
    ax.set_xlabel("xlabel")
    ax.set_ylabel("ylabel")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    grey = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L")).astype(int)
    out = {}
    for name, (x0, y0, x1, y1) in INK_REGIONS.items():
        ys, xs = np.nonzero(grey[y0:y1, x0:x1] < 128)
        out[name] = {
            "region": [x0, y0, x1, y1],
            "ink": [int(x0 + xs.min()), int(y0 + ys.min()), int(x0 + xs.max()), int(y0 + ys.max())],
        }
    return out


def main():
    cases = [case(name, size, sub, lo, hi) for name, size, sub in LAYOUTS for lo, hi in RANGES]
    record = {
        "matplotlib": matplotlib.__version__,
        "cases": cases,
        "layout": layout_record(),
        "ink": ink_record(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ticks.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
