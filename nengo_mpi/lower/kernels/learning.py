"""Native records for learning rules (nengo's SimPES, SimBCM, SimOja, SimVoja, SimRLS)."""

TRANSLATORS = {}
