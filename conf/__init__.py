"""The configs as package data of an installed wheel (``pkg://nst_research.conf``; Hydra finds a
config package by this file). See ``nst_research/configs/compose.py``."""
