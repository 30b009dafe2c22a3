"""The Django application django-guardian protects in the peer comparison: one Case model."""
