"""Personal-information desensitiser for Chinese data (see the submodules)."""
