"""How the image is optimised: optimiser factories (``optimizer=``, :mod:`.optimizers`), the
sizes and steps (``schedule=``, :mod:`.schedules`) and where the image starts (``init=``,
:mod:`.inits`)."""
