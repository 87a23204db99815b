"""LivePortrait (Guo et al., 2024, KwaiVGI/LivePortrait): neural portrait animation and editing.

Importing this package imports no torch: :mod:`.specs` and :mod:`.config` are data;
:mod:`.networks`, :mod:`.motion` and :mod:`.runner` need torch and are imported on load.
"""
