"""Encoders: ``fit`` on features, ``transform`` to codes, ``inverse_transform`` back.

The encoders follow scikit-learn's conventions (built from parameters, fitted state ending
in ``_``) and save themselves as parameters plus arrays, never as a pickle. Each kind's
settings are one frozen config (``repr_assets.encoders.config``); its module ends with
the ``EncoderKind`` that the registry finds (``repr_assets.encoders.registry``).

Nothing is imported here, so that naming an encoder module costs only that module.
"""
