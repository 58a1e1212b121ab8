"""The mainstream food fixture: packaged food and drink against the non-food goods around it.

The training mix knows SME foods (keripik, kopi, kue, rempah) better than what most imported
food is: canned soft drinks, bottled tea, mineral water, UHT milk, beer, wine and spirits,
yoghurt drinks, ice cream, instant noodles. ``data/food_fixture.csv`` (``title,label``) holds
such titles, written by hand for this project, next to their non-food neighbours (tumblers,
lunch boxes, kitchenware, coffee machines, dispensers, supplements, cosmetics, baby bottles,
pet food), labelled against ``CLUSTERS.md``. The card reports culinary recall and precision
on it.
"""

from __future__ import annotations

from importlib import resources

from akarclf.training.labelled import read_labelled_csv


def load_food_fixture() -> tuple[list[str], list[str]]:
    """``(titles, labels)`` of the packaged fixture."""
    resource = resources.files("akarclf.training").joinpath("data", "food_fixture.csv")
    with resources.as_file(resource) as path:
        titles, labels, _ = read_labelled_csv(path)
    return titles, labels
