"""Fraud text: classify SMS, chat and report texts into fraud types, offline on CPU.

`normalize` undoes filter evasions; `train` fits the classifier and `TextModel.load` reads one
back (safely: no pickle); `fraud_types_for` maps a data set's labels onto `fanzha.taxonomy`;
`read_texts` reads a partner's CSV or JSONL keeping every row and the reason a row is unusable.
"""

from fanzha.models.text.classifier import Evidence, TextModel, cached_model, train
from fanzha.models.text.files import TextRows, read_texts
from fanzha.models.text.labels import NOT_FRAUD, fraud_type_of_label, fraud_types_for
from fanzha.models.text.normalize import normalize

__all__ = [
    "NOT_FRAUD",
    "Evidence",
    "TextModel",
    "TextRows",
    "cached_model",
    "fraud_type_of_label",
    "fraud_types_for",
    "normalize",
    "read_texts",
    "train",
]
