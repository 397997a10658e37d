"""Checks made before anything runs or is written (``nst`` calls
:func:`nst_research.validation.preflight.check_command` first; the tests call it too)."""
