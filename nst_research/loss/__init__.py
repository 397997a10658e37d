"""The loss: pure maths (:mod:`.functional`), the terms built on it (:mod:`.terms`: content, Gram
style, TV), the other style distances (``style_loss=``, :mod:`.style`) and content terms
(``content_loss=``, :mod:`.content`). Terms of the later methods are in :mod:`nst_research.methods`."""
