"""The cluster classifier: estimator, features, fast scoring and model files."""
