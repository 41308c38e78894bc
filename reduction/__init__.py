"""reduction: the executable construction (schedules, instances, keys, attention, caches,
the Alice -> bytes -> Bob protocol and the compressors). Imports only lowerbound."""
