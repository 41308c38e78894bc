"""proofs: each lemma of THEOREM.md as a checked object (see proofs.registry)."""
