"""The training workbench: data sources, taxonomy, hand labels, splits, training, model card."""
