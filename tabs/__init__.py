"""One module per tab, in the order the app shows them."""

from tabs import benchmark, keyframes, models, portrait, style, super_res, talking_head

TABS = (portrait, talking_head, style, super_res, keyframes, benchmark, models)
