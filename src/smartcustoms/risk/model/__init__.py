"""The model library: LightGBM fraud models, evaluation, registry, shadow scoring, smart identification."""
