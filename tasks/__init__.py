"""Prefect tasks, one module per stage: read → domain function → write → artifact → counts."""
