"""proofs: each lemma of docs/theorem.md as a checked object (see proofs.registry)."""
