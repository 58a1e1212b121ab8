"""The restriction gate: the policy file, seller flags and the decision for each listing."""
