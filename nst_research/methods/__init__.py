"""The maths of the methods that followed Gatys et al. (STROTSS, NNST, add-on terms) and the
style terms and colour control built from it: :mod:`.remd`, :mod:`.neighbours`, :mod:`.oklab`,
:mod:`.addons` (pure functions), :mod:`.terms` (``style_loss=remd``, ``style_loss=histogram``),
:mod:`.colour` (``colour=match_oklab``)."""
