"""Science studies run by `smtjlab study` (docs/accuracy.md, docs/energy-model.md)."""
