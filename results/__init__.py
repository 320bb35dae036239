"""The results store: the read model of rule 8 (judge by the result).

One row per conversation and one per sales task, written by the workflows' milestones
(activities/results.py) and read by the reports (results/reports.py). Figures only: no
name, address, phone number or message text. Temporal stays the system of record for the
process; this store outlives its retention for the figures.
"""
