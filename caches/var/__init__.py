"""The VAR-specific caches: scale- and head-aware policies written for next-scale models
(ScaleKV, HACK, HACK++, AMS-KV), one per module."""
