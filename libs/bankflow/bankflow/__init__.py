"""Domain-free helpers shared by the bankflow services.

Nothing here knows about transactions, clients or ledgers: settings, Celery defaults,
structured logging with a correlation id, health views, webhook signing, money and IBAN
validation, and the one DRF exception handler.
"""
