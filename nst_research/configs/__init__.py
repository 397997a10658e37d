"""The configs: the schema and validation of a composed config (:mod:`.schema`), composing as the
``nst`` command does (:mod:`.compose`), the generated ``nst --help`` (:mod:`.help`), the names a
config may use (:mod:`.names`) and reading the configs of runs made by older versions
(:mod:`.moved`)."""
