"""Matplotlib helpers shared by the runner and the recipes' plots (headless, PNG files)."""

from model_zoo.optional import import_optional


def pyplot():
    """`matplotlib.pyplot` on the non-interactive Agg backend (no screen needed)."""
    matplotlib = import_optional("matplotlib", "train", "Plotting")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi=110):
    """Lays out `fig`, writes it to `path` as PNG, closes it, and returns `path`."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path
