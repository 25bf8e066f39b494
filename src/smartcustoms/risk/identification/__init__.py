"""Smart identification: which HS heading (4 digits) a goods description most likely belongs to.

`suggest` answers the likely headings of a description; `check_items` flags declared lines whose
heading the description does not support; `refresh` retrains from the database, `invalidate`
forgets the cached classifiers; `evaluate` measures accuracy on held-out accepted declarations.
"""

from smartcustoms.risk.identification.domain import Mismatch, Suggestion
from smartcustoms.risk.identification.service import check_items, classifier, evaluate, invalidate, refresh, suggest

__all__ = ["Mismatch", "Suggestion", "check_items", "classifier", "evaluate", "invalidate", "refresh", "suggest"]
