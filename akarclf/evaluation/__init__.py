"""The evaluation workbench: metrics, intervals, targets, policy tuning, what-if, plots."""
