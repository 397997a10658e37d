"""The presets (ablation/, search/) as package data of an installed wheel
(``pkg://nst_research.experiments``; Hydra finds a config package by this file). See
``nst_research/configs/compose.py``."""
