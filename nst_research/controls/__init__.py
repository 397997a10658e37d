"""Gatys et al. (CVPR 2017)'s controls: colour (``colour=``, :mod:`.colour`), space (region masks,
:mod:`.masks` and :mod:`.mask_files`) and several styles in one run (:mod:`.styles`)."""
