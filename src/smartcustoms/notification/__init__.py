"""Status notifications for enterprises: the feed, webhooks, and the outbox relay that feeds both."""
