"""Alert rules: what they watch, how readings and time move them, and who is told.

Each module sits in one layer, and imports only from its own layer or below
(``tests/test_layers.py`` checks it):

- domain, no I/O: ``rules`` (a rule's fields and their checks), ``targets``
  (where a notification may go), ``machine`` (how a rule's ``State`` moves),
  ``index`` (which rules watch a sensor, by name and prefix);
- services: ``engine`` (moves states through the store, queues and makes
  deliveries), ``notify`` (sends one);
- web: ``resources`` (the ``/rules/`` and ``/alerts/`` routes), ``openapi``
  (their part of the document).

What the store keeps of them (``State``, events, deliveries) is declared in
``stores/alerts.py``, below all of these.
"""
