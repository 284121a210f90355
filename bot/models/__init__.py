"""The model layer: what a RunComfy model takes, and the body a job sends it.

The only place that knows a model's options, image bounds and submit body.
"""
