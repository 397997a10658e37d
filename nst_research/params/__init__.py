"""Image parametrisations (``conf/param/*.yaml``): what the optimiser's one parameter holds.

:class:`~nst_research.params.base.Parametrisation` maps an image to its parameter (``encode``)
and back (``decode``); ``param=pixels`` (the default) is the image itself, ``param=laplacian``
the coefficients of its Laplacian pyramid (STROTSS, NNST).
"""
