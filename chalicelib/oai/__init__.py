"""OAI-PMH 2.0 (``/oai``): the public registered datasets for harvesters. See README "OAI-PMH"."""
