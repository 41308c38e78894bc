"""The adversaries of the decoding: the worst (eta, delta)-correct outputs
(docs/theorem.md#correctness)."""
