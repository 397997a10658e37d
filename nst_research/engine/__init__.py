"""The run itself: build it from a config (:mod:`.build`), the LightningModule (:mod:`.module`),
its callbacks, inputs, status records, memory check, the L-BFGS recall cache (:mod:`.recall`),
resume, signal handling and the process-wide settings of a run (:mod:`.process`)."""
